// The prebuilt provider and `rig export`: a bundle built once (by any provider, on any
// machine) is written out as a directory or tarball, and read back here as untrusted input
// (incoming.ts): every file is checked against its manifest while it is copied into a fresh
// directory, which only then takes its place in the cache, under a key derived from the
// manifest itself (prebuilt-<sha256>), never the key the manifest claims.
import { randomBytes } from 'node:crypto';
import { copyFile, mkdir, readdir, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { ConfigError } from '../../errors.js';
import type { RigRequest } from '../../config/types.js';
import { readRig, verifyRig, writeManifest } from '../bundle.js';
import { hasBundle, rigDir } from '../cache.js';
import { MANIFEST_FILE, type Rig } from '../manifest.js';
import type { CheckedBundle, ObtainedRig, RigProviderModule } from '../provider.js';
import { openBundle, prebuiltKey, type IncomingBundle, type IncomingOptions } from './incoming.js';
import { isTarballName, locateBundle } from './location.js';
import { packTarball } from './tarball.js';

export { isTarballName } from './location.js';
export { BUNDLE_LIMITS, prebuiltKey, type BundleLimits } from './incoming.js';

export interface PrebuiltOptions extends IncomingOptions {
  cacheDir: string;
  /**
   * false: check and copy the bundle even when the cache has it; a cached copy still replaced
   * only once this one has verified (and kept if it verifies too: the key says same bytes).
   */
  useCache?: boolean;
}

/** Recipe data for `plan`: a prebuilt bundle is whatever its manifest says. */
export function prebuiltRecipe(request: RigRequest): Record<string, unknown> {
  return { provider: 'prebuilt', rigPath: request.rigPath, verified: 'every file by size and sha256 against manifest.json, then cached under prebuilt-<sha256 of the manifest>' };
}

/**
 * The bundle named by rig-path, verified and in the cache. With mayBuild false (what `plan`
 * uses) nothing is downloaded or copied: only a local directory's manifest is read.
 */
export async function obtainPrebuiltRig(request: RigRequest, opts: PrebuiltOptions, mayBuild: boolean): Promise<ObtainedRig | undefined> {
  const label = request.labels?.rigPath ?? 'rig-path';
  if (!request.rigPath) throw new ConfigError(`${label}: required when rig is prebuilt`);
  const where = await locateBundle(request.rigPath, label);
  if (!mayBuild && where.kind !== 'dir') return undefined;

  const staging = stagingDir(opts.cacheDir);
  try {
    const bundle = await openBundle(where, staging, label, opts);
    const dir = rigDir(opts.cacheDir, bundle.key);
    const cached = opts.useCache === false ? undefined : await cachedCopy(dir, bundle.key, opts.log);
    if (cached) {
      // A bundle at hand is still checked, so a damaged one is reported rather than hidden by
      // the cache. A directory URL's files are not fetched: the key says the cached copy's
      // manifest is this very manifest, and the cached files have just verified against it.
      if (where.kind !== 'url-dir') await bundle.check();
      opts.log(`rig cache hit: ${dir} (same files as ${request.rigPath})`);
      return { rig: cached, cacheHit: true, key: bundle.key };
    }
    if (!mayBuild) return undefined;
    opts.log(`caching prebuilt rig ${bundle.key} from ${request.rigPath} in ${dir}`);
    return { rig: await install(bundle, dir, opts.log), cacheHit: false, key: bundle.key };
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}

/**
 * `rig verify --rig-path`: the bundle checked exactly as a run checks it before caching it
 * (the same functions, for every kind of rig-path), with nothing cached.
 */
export async function checkPrebuiltBundle(request: RigRequest, opts: PrebuiltOptions): Promise<CheckedBundle> {
  const label = request.labels?.rigPath ?? 'rig-path';
  if (!request.rigPath) throw new ConfigError(`${label}: required to verify a prebuilt bundle`);
  const where = await locateBundle(request.rigPath, label);
  const staging = stagingDir(opts.cacheDir);
  try {
    const bundle = await openBundle(where, staging, label, opts);
    await bundle.check();
    return { shownAs: bundle.shownAs, key: bundle.key, files: bundle.manifest.files.length };
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}

/** The prebuilt provider: a bundle from rig-path, checked as untrusted input, then cached. */
export const prebuiltProvider = {
  recipe: (request) => prebuiltRecipe(request),
  obtain: obtainPrebuiltRig,
  check: checkPrebuiltBundle,
} satisfies RigProviderModule;

function stagingDir(cacheDir: string): string {
  return join(cacheDir, 'prebuilt', `staging-${process.pid}-${randomBytes(4).toString('hex')}`);
}

/**
 * Checks the bundle into a fresh directory beside dir and only then puts it in dir's place, so
 * a bundle that fails leaves whatever was cached there as it was.
 */
async function install(bundle: IncomingBundle, dir: string, log: (line: string) => void): Promise<Rig> {
  // Beside dir, on the same file system for the rename; a dot name, which a cache listing skips.
  const tmp = join(dirname(dir), `.${basename(dir)}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`);
  await mkdir(tmp, { recursive: true });
  try {
    await bundle.check(tmp);
    await writeManifest(tmp, bundle.manifest);
    await putInPlace(tmp, dir, () => cachedCopy(dir, bundle.key, log));
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
  return readRig(dir);
}

/**
 * Renames tmp to dir. A sound bundle already there (another process just put the same content
 * there) is kept; a damaged one is set aside, replaced, and only then removed.
 */
async function putInPlace(tmp: string, dir: string, sound: () => Promise<Rig | undefined>): Promise<void> {
  try {
    await rename(tmp, dir);
    return;
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code;
    if (code !== 'ENOTEMPTY' && code !== 'EEXIST') throw cause;
  }
  if (await sound()) return;
  const aside = join(dirname(dir), `.${basename(dir)}.replaced-${process.pid}-${randomBytes(4).toString('hex')}`);
  await rename(dir, aside);
  try {
    await rename(tmp, dir);
  } finally {
    await rm(aside, { recursive: true, force: true });
  }
}

/** The rig cached under key when its manifest is the one the key was derived from and its files verify. */
async function cachedCopy(dir: string, key: string, log: (line: string) => void): Promise<Rig | undefined> {
  if (!(await hasBundle(dir))) return undefined;
  try {
    const cached = await readRig(dir);
    if (prebuiltKey(cached.manifest) !== key) throw new Error('its manifest is not the one its key was derived from');
    await verifyRig(cached);
    return cached;
  } catch (cause) {
    log(`warning: the cached rig at ${dir} does not verify (it is replaced once the bundle has): ${(cause as Error).message}`);
    return undefined;
  }
}

/**
 * Writes a verified rig as a bundle directory (which must not exist or be empty) or, for a
 * name ending in .tar.gz/.tgz/.tar, as a tarball. Returns what was written.
 */
export async function exportRig(rig: Rig, target: string, log: (line: string) => void): Promise<string> {
  await verifyRig(rig);
  const names = [MANIFEST_FILE, ...rig.manifest.files.map((f) => f.path)];
  if (isTarballName(target)) {
    await mkdir(dirname(target), { recursive: true });
    const tmp = `${target}.tmp-${process.pid}`;
    try {
      await packTarball(rig.dir, names, tmp, target);
      await rename(tmp, target);
    } finally {
      await rm(tmp, { force: true });
    }
    log(`rig ${rig.manifest.key.slice(0, 12)} exported to ${target}`);
    return target;
  }
  const existing = await readdir(target).catch((e: NodeJS.ErrnoException) => (e.code === 'ENOENT' ? [] : Promise.reject(e)));
  if (existing.length > 0) throw new ConfigError(`rig export: ${target} exists and is not empty; name a new directory or a .tar.gz file`);
  await mkdir(target, { recursive: true });
  for (const name of names) await copyInto(join(rig.dir, name), join(target, name));
  log(`rig ${rig.manifest.key.slice(0, 12)} exported to ${target}`);
  return target;
}

/** Copies a file, making the directories a manifest path like "dtb/virt.dtb" needs. */
async function copyInto(from: string, to: string): Promise<void> {
  await mkdir(dirname(to), { recursive: true });
  await copyFile(from, to);
}
