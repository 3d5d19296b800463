// The prebuilt provider and `rig export`: a bundle built once (by any provider, on any
// machine) is written out as a directory or tarball, and read back here with every file's
// size and sha256 checked against its manifest before it is cached under the manifest's key.
import { copyFile, lstat, mkdir, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join, posix } from 'node:path';
import { ConfigError } from '../../errors.js';
import type { RigRequest } from '../../config/types.js';
import { readRig, verifyRig, writeManifest } from '../bundle.js';
import { buildAtomically, discardBundle, hasBundle, rigDir } from '../cache.js';
import { MANIFEST_FILE, type Rig, type RigManifest } from '../manifest.js';
import { download, downloadText } from './fetch.js';
import { isTarballName, locateBundle, type BundleLocation } from './location.js';
import { packTarball, unpackTarball } from './tarball.js';

export { isTarballName } from './location.js';

export interface PrebuiltOptions {
  cacheDir: string;
  log: (line: string) => void;
  /** false: replace any cached bundle under the same key with this one. */
  useCache?: boolean;
  /** Deadline for each download, for tests; DOWNLOAD_TIMEOUT_MS otherwise. */
  downloadTimeoutMs?: number;
}

export interface PrebuiltRig {
  rig: Rig;
  cacheHit: boolean;
  key: string;
}

/** Recipe data for `plan`: a prebuilt bundle is whatever its manifest says. */
export function prebuiltRecipe(request: RigRequest): Record<string, unknown> {
  return { provider: 'prebuilt', rigPath: request.rigPath, verified: 'every file by size and sha256 against manifest.json, then cached under the manifest key' };
}

/**
 * The bundle named by rig-path, verified and in the cache. With mayBuild false (what `plan`
 * uses) nothing is downloaded or copied: only a local directory's manifest is read.
 */
export async function obtainPrebuiltRig(request: RigRequest, opts: PrebuiltOptions, mayBuild: boolean): Promise<PrebuiltRig | undefined> {
  const label = request.labels?.rigPath ?? 'rig-path';
  if (!request.rigPath) throw new ConfigError(`${label}: required when rig is prebuilt`);
  const where = await locateBundle(request.rigPath, label);
  if (!mayBuild && where.kind !== 'dir') return undefined;

  const staging = join(opts.cacheDir, 'prebuilt', `staging-${process.pid}-${Date.now()}`);
  try {
    const incoming = await stage(where, staging, label, opts, mayBuild);
    if (!incoming) return undefined;
    const { rig, verified } = incoming;
    const key = rig.manifest.key;
    const dir = rigDir(opts.cacheDir, key);

    if (await hasBundle(dir)) {
      const cached = opts.useCache === false ? undefined : await sameVerifiedBundle(dir, rig.manifest, opts.log);
      if (cached) {
        if (!verified) await verifyInput(rig, label, request.rigPath);
        opts.log(`rig cache hit: ${dir} (same files as ${request.rigPath})`);
        return { rig: cached, cacheHit: true, key };
      }
      if (!mayBuild) return undefined;
      opts.log(`replacing the cached rig ${key.slice(0, 12)} with the bundle from ${request.rigPath}`);
      await discardBundle(dir);
    }
    if (!mayBuild) return undefined;

    if (!verified) await verifyInput(rig, label, request.rigPath);
    opts.log(`caching prebuilt rig ${key.slice(0, 12)} from ${request.rigPath} in ${dir}`);
    await buildAtomically(dir, async (tmp) => {
      for (const f of rig.manifest.files) await copyInto(join(rig.dir, f.path), join(tmp, f.path));
      await writeManifest(tmp, rig.manifest);
    });
    const installed = await readRig(dir);
    await verifyRig(installed);
    return { rig: installed, cacheHit: false, key };
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}

/**
 * Brings the bundle where its files can be read: a directory in place, a tarball unpacked, a
 * URL downloaded. A directory URL whose manifest matches a cached bundle downloads nothing more.
 */
async function stage(
  where: BundleLocation,
  staging: string,
  label: string,
  opts: PrebuiltOptions,
  mayBuild: boolean,
): Promise<{ rig: Rig; verified: boolean } | undefined> {
  switch (where.kind) {
    case 'dir':
      return { rig: await readInput(where.path, label, where.path), verified: false };
    case 'tarball': {
      await mkdir(staging, { recursive: true });
      const dir = await unpack(where.path, staging, label);
      return { rig: await readInput(dir, label, where.path), verified: false };
    }
    case 'url-tarball': {
      await mkdir(staging, { recursive: true });
      const file = join(staging, basename(where.url.pathname));
      opts.log(`downloading ${where.url.href}`);
      await download(where.url, file, label, opts.downloadTimeoutMs);
      const unpacked = join(staging, 'bundle');
      await mkdir(unpacked);
      const dir = await unpack(file, unpacked, label);
      return { rig: await readInput(dir, label, where.url.href), verified: false };
    }
    case 'url-dir': {
      const manifestUrl = new URL(MANIFEST_FILE, where.url);
      const text = await downloadText(manifestUrl, label, opts.downloadTimeoutMs);
      const manifest = parseManifest(text, label, manifestUrl.href);
      const dir = rigDir(opts.cacheDir, manifest.key);
      if (opts.useCache !== false && (await hasBundle(dir)) && (await sameVerifiedBundle(dir, manifest, opts.log))) {
        // The cached copy's own files prove it; the server's files need not be fetched.
        return { rig: { dir, manifest }, verified: true };
      }
      if (!mayBuild) return undefined;
      await mkdir(staging, { recursive: true });
      for (const f of manifest.files) {
        opts.log(`downloading ${new URL(f.path, where.url).href}`);
        await mkdir(dirname(join(staging, f.path)), { recursive: true });
        await download(new URL(f.path, where.url), join(staging, f.path), label, opts.downloadTimeoutMs);
      }
      await writeFile(join(staging, MANIFEST_FILE), text);
      return { rig: { dir: staging, manifest }, verified: false };
    }
  }
}

async function unpack(file: string, into: string, label: string): Promise<string> {
  try {
    return await unpackTarball(file, into);
  } catch (cause) {
    throw new ConfigError(`${label}: ${file} is not a readable tarball: ${(cause as Error).message}`);
  }
}

async function readInput(dir: string, label: string, shownAs: string): Promise<Rig> {
  try {
    const rig = await readRig(dir);
    checkManifest(rig.manifest, label, shownAs);
    return rig;
  } catch (cause) {
    if (cause instanceof ConfigError) throw cause;
    throw new ConfigError(`${label}: ${shownAs} is not a rig bundle: ${(cause as Error).message}`);
  }
}

function parseManifest(text: string, label: string, shownAs: string): RigManifest {
  let manifest: RigManifest;
  try {
    manifest = JSON.parse(text) as RigManifest;
  } catch (cause) {
    throw new ConfigError(`${label}: ${shownAs} is not valid JSON: ${(cause as Error).message}`);
  }
  checkManifest(manifest, label, shownAs);
  return manifest;
}

/** A manifest from elsewhere names only plain files inside the bundle and carries a usable key. */
function checkManifest(m: RigManifest, label: string, shownAs: string): void {
  const bad = (why: string): never => {
    throw new ConfigError(`${label}: ${shownAs}: ${why}`);
  };
  if (m.schemaVersion !== 1) bad(`manifest schema ${String(m.schemaVersion)}, expected 1`);
  if (typeof m.key !== 'string' || !/^[0-9a-f]{64}$/.test(m.key)) bad('the manifest has no 64-hex-digit key');
  if (!Array.isArray(m.files) || m.files.length === 0) bad('the manifest lists no files');
  for (const f of m.files) {
    const p = f?.path;
    if (typeof p !== 'string' || p === '' || p === MANIFEST_FILE || posix.isAbsolute(p) || p.includes('\\') || posix.normalize(p) !== p || p.startsWith('..')) {
      bad(`the manifest lists the file path ${JSON.stringify(p)}, which is not a plain path inside the bundle`);
    }
    if (typeof f.sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(f.sha256) || typeof f.size !== 'number') bad(`${p}: no sha256 or size in the manifest`);
  }
}

async function verifyInput(rig: Rig, label: string, shownAs: string): Promise<void> {
  for (const f of rig.manifest.files) {
    const st = await lstat(join(rig.dir, f.path)).catch(() => undefined);
    if (st && !st.isFile()) throw new ConfigError(`${label}: ${shownAs}: ${f.path} (${f.role}) is not a regular file`);
  }
  try {
    await verifyRig(rig);
  } catch (cause) {
    throw new ConfigError(`${label}: ${shownAs}: ${(cause as Error).message}`);
  }
}

/** The cached bundle at dir when it holds exactly the manifest's files and they verify. */
async function sameVerifiedBundle(dir: string, manifest: RigManifest, log: (line: string) => void): Promise<Rig | undefined> {
  try {
    const cached = await readRig(dir);
    const list = (m: RigManifest) => m.files.map((f) => `${f.role} ${f.path} ${f.sha256}`).sort().join('\n');
    if (list(cached.manifest) !== list(manifest)) return undefined;
    await verifyRig(cached);
    return cached;
  } catch (cause) {
    log(`warning: the cached rig at ${dir} does not verify: ${(cause as Error).message}`);
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
