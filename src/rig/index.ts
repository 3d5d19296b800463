// The rig stage's public face: turn a RigRequest into a verified bundle on disk, from the
// local cache, the Actions cache, or a fresh build.
import { join } from 'node:path';
import { ConfigError, InfraError } from '../errors.js';
import type { RigRequest } from '../config/types.js';
import { ensureHostTools } from '../host/prerequisites.js';
import { readRig, verifyRig } from './bundle.js';
import { defaultCacheDir, hasBundle, obtainKeyed, rigDir } from './cache.js';
import type { Rig, RigManifest } from './manifest.js';
import { fetchPublished, PublishedRefused, type PublishedSource } from './published.js';
import { buildDebianRig, debianRecipe, ensureComponents, planDebianRig } from './debian/build.js';
import { patchPaths } from './debian/patches.js';
import { checkPrebuiltBundle, obtainPrebuiltRig, prebuiltRecipe, type CheckedBundle } from './prebuilt/index.js';
import { obtainSourceRig, sourceRecipe } from './source/index.js';
import { obtainYoctoRig, yoctoRecipe } from './yocto/index.js';

export { readRig, rigFile, verifyRig } from './bundle.js';
export { defaultCacheDir, restoreRemote, saveRemote, rigDir } from './cache.js';
export { READY_LINE } from './debian/scripts.js';
export { exportRig } from './prebuilt/index.js';
export type { Rig, RigManifest, RigFile, FileRole, Capability } from './manifest.js';

export interface ObtainOptions {
  /** Cache root; bundles live in <cacheDir>/rigs/<key>. See defaultCacheDir(). */
  cacheDir: string;
  log: (line: string) => void;
  /** Also look in the GitHub Actions cache on a local miss. */
  remoteCache?: boolean;
  /** false: ignore any cached bundle and build afresh (the new bundle still lands in the cache). */
  useCache?: boolean;
  /** Problems worth an annotation (a damaged cached bundle); default: log. */
  warn?: (line: string) => void;
}

export interface ObtainedRig {
  rig: Rig;
  cacheHit: boolean;
  key: string;
}

/** Printable recipe data for `xen-pvh-virtio plan`: no network, no building. */
export function rigRecipe(request: RigRequest, cacheDir = defaultCacheDir()): Record<string, unknown> {
  switch (request.provider) {
    case 'debian':
      return { ...debianRecipe(undefined, request), patches: { xen: patchPaths('xen', request.xenPatches), qemu: patchPaths('qemu', request.qemuPatches) } };
    case 'prebuilt':
      return prebuiltRecipe(request);
    case 'yocto':
      return yoctoRecipe(request, { cacheDir });
    case 'source':
      return sourceRecipe(request);
    default:
      return { provider: request.provider, implemented: false };
  }
}

export async function obtainRig(request: RigRequest, opts: ObtainOptions): Promise<ObtainedRig> {
  return (await obtain(request, opts, true))!;
}

/** The rig if it is already in the local cache; never builds (what `plan` uses). */
export async function findCachedRig(request: RigRequest, opts: Omit<ObtainOptions, 'remoteCache' | 'useCache'>): Promise<ObtainedRig | undefined> {
  return obtain(request, { ...opts, remoteCache: false }, false);
}

async function obtain(request: RigRequest, opts: ObtainOptions, mayBuild: boolean): Promise<ObtainedRig | undefined> {
  switch (request.provider) {
    case 'debian':
      return obtainDebianRig(request, opts, mayBuild);
    case 'prebuilt':
      return obtainPrebuiltRig(request, opts, mayBuild);
    case 'yocto':
      return obtainYoctoRig(request, opts, mayBuild);
    case 'source':
      return obtainSourceRig(request, opts, mayBuild);
    default:
      throw new ConfigError(`rig provider '${request.provider}' is not implemented yet; use 'debian'`);
  }
}

async function obtainDebianRig(request: RigRequest, opts: ObtainOptions, mayBuild: boolean): Promise<ObtainedRig | undefined> {
  const { log } = opts;
  await ensureHostTools(['rig-debian'], { log });
  const plan = await planDebianRig(opts.cacheDir, request, log);
  return obtainKeyed(plan.key, opts, mayBuild, async (tmp) => {
    const published = await tryPublished(plan.key, request.published, tmp, opts);
    if (published) return published;
    // Components (hypervisor, backend QEMU) are cached on their own: a new rig key rebuilds only what changed.
    const components = await ensureComponents(opts.cacheDir, plan, log);
    log(`building debian rig ${plan.key.slice(0, 12)} in ${rigDir(opts.cacheDir, plan.key)}`);
    return buildDebianRig(tmp, plan, components, log);
  });
}

/** The bundle this release published for key, in tmp; undefined (with the reason logged) when there is none to take. */
async function tryPublished(key: string, source: PublishedSource | undefined, tmp: string, opts: ObtainOptions): Promise<RigManifest | undefined> {
  if (!source?.url) {
    if (source) opts.log(`published rig: not looked for (${source.via})`);
    return undefined;
  }
  const staging = join(opts.cacheDir, 'published', `staging-${process.pid}`);
  try {
    const manifest = await fetchPublished(key, { ...source, url: source.url }, tmp, staging, opts.log);
    opts.log(`published rig ${key.slice(0, 12)} from ${source.via}: downloaded and verified (SHA256SUMS, key, every file), nothing to build`);
    return manifest;
  } catch (cause) {
    if (!(cause instanceof PublishedRefused)) throw cause;
    opts.log(`published rig not used, building instead: ${cause.message}`);
    return undefined;
  }
}

/**
 * Checks a rig bundle without changing anything: the one at the request's rig-path (through
 * the very checks a run makes before using it), else the cached one for the request's recipe.
 * Throws an error naming every damaged or missing file.
 */
export async function checkRig(request: RigRequest, opts: { cacheDir: string; log: (line: string) => void }): Promise<CheckedBundle> {
  if (request.rigPath !== undefined) return checkPrebuiltBundle(request, opts);
  if (request.provider !== 'debian') throw new ConfigError(`rig verify: give --rig-path for rig provider '${request.provider}'`);
  const plan = await planDebianRig(opts.cacheDir, request, opts.log);
  const dir = rigDir(opts.cacheDir, plan.key);
  if (!(await hasBundle(dir))) throw new InfraError(`rig verify: no rig for this recipe in the cache (${dir}); \`xen-pvh-virtio rig build\` builds it`);
  const rig = await readRig(dir);
  await verifyRig(rig);
  return { shownAs: dir, key: plan.key, files: rig.manifest.files.length };
}
