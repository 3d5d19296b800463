// A prebuilt bundle from elsewhere (a directory, a tarball, a URL), which is untrusted input:
// its manifest is read within bounds and checked, the cache key is derived from it, and its
// files are checked (size, sha256, inside the bundle, regular) by the one function that both
// `run` and `rig verify` use. A bad bundle is a ConfigError naming the input and the entry.
import { mkdir } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { ConfigError } from '../../errors.js';
import { bundleProblems, readRig } from '../bundle.js';
import { recipeKey } from '../cache.js';
import { isPlainBundlePath, MANIFEST_FILE, MANIFEST_MAX_BYTES, type RigManifest } from '../manifest.js';
import { download, downloadText } from './fetch.js';
import type { BundleLocation } from './location.js';
import { unpackTarball, UnsafeTarball, type TarballLimits } from './tarball.js';

export type BundleLimits = TarballLimits;

/** Rigs are tens to hundreds of MiB; these bound what a hostile bundle can make us store or read. */
export const BUNDLE_LIMITS: BundleLimits = { bytes: 4 * 1024 ** 3, entries: 10_000 };

export interface IncomingOptions {
  log: (line: string) => void;
  /** Deadline for each download; DOWNLOAD_TIMEOUT_MS otherwise. */
  downloadTimeoutMs?: number;
  /** Smaller bounds than BUNDLE_LIMITS, for tests. */
  limits?: Partial<BundleLimits>;
}

export interface IncomingBundle {
  manifest: RigManifest;
  /** Where the cache keeps it: derived from the manifest, never the key it claims. */
  key: string;
  /** The input as the user gave it, for messages. */
  shownAs: string;
  /**
   * Checks every file the manifest lists (a directory URL's are downloaded first) and, with
   * `into`, copies the checked bytes there. Throws a ConfigError naming each bad entry.
   */
  check(into?: string): Promise<void>;
}

/**
 * The cache key of a prebuilt bundle: the hash of its whole manifest, which holds every file's
 * sha256, so the key names the content; `prebuilt-` keeps it apart from every recipe key
 * (64 hex digits), so no bundle can take the place of a debian or source rig.
 */
export function prebuiltKey(manifest: RigManifest): string {
  return `prebuilt-${recipeKey(manifest)}`;
}

/** Reads the bundle at `where` as far as its manifest; `staging` (ours, fresh) holds what must be unpacked or downloaded. */
export async function openBundle(where: BundleLocation, staging: string, label: string, opts: IncomingOptions): Promise<IncomingBundle> {
  const limits = { ...BUNDLE_LIMITS, ...opts.limits };
  switch (where.kind) {
    case 'dir':
      return local(where.path, where.path, label, limits);
    case 'tarball':
      await mkdir(staging, { recursive: true });
      return local(await unpack(where.path, staging, label, where.path, limits), where.path, label, limits);
    case 'url-tarball': {
      await mkdir(staging, { recursive: true });
      const file = join(staging, basename(where.url.pathname));
      opts.log(`downloading ${where.url.href}`);
      const bound = `${limits.bytes} bytes, more than a bundle may have`;
      await download(where.url, file, label, { redirects: 'same-origin', maxBytes: limits.bytes, bound, timeoutMs: opts.downloadTimeoutMs, log: opts.log });
      const unpacked = join(staging, 'bundle');
      await mkdir(unpacked);
      return local(await unpack(file, unpacked, label, where.url.href, limits), where.url.href, label, limits);
    }
    case 'url-dir':
      return served(where.url, staging, label, opts, limits);
  }
}

async function local(dir: string, shownAs: string, label: string, limits: BundleLimits): Promise<IncomingBundle> {
  let manifest: RigManifest;
  try {
    manifest = (await readRig(dir)).manifest;
  } catch (cause) {
    throw new ConfigError(`${label}: ${shownAs} is not a rig bundle: ${(cause as Error).message}`);
  }
  checkManifest(manifest, label, shownAs, limits);
  return { manifest, key: prebuiltKey(manifest), shownAs, check: (into) => checkFiles(dir, manifest, label, shownAs, into) };
}

/** A bundle directory served over http(s): the manifest now, each file (bounded by its listed size) only when checked. */
async function served(base: URL, staging: string, label: string, opts: IncomingOptions, limits: BundleLimits): Promise<IncomingBundle> {
  const manifestUrl = new URL(MANIFEST_FILE, base);
  const bound = `${MANIFEST_MAX_BYTES} bytes, more than a manifest may have`;
  const text = await downloadText(manifestUrl, label, { redirects: 'same-origin', maxBytes: MANIFEST_MAX_BYTES, bound, timeoutMs: opts.downloadTimeoutMs, log: opts.log });
  let manifest: RigManifest;
  try {
    manifest = JSON.parse(text) as RigManifest;
  } catch (cause) {
    throw new ConfigError(`${label}: ${manifestUrl.href} is not valid JSON: ${(cause as Error).message}`);
  }
  checkManifest(manifest, label, manifestUrl.href, limits);
  const check = async (into?: string) => {
    const files = join(staging, 'files');
    for (const f of manifest.files) {
      const url = new URL(f.path, base);
      // Plain paths cannot leave the base; this says so where the URL is made.
      if (url.origin !== base.origin || !url.pathname.startsWith(base.pathname)) throw new ConfigError(`${label}: ${f.path} resolves outside ${base.href}`);
      opts.log(`downloading ${url.href}`);
      await mkdir(dirname(join(files, f.path)), { recursive: true });
      const listed = `the ${f.size} bytes the manifest lists for ${f.path} (${f.role})`;
      await download(url, join(files, f.path), label, { redirects: 'same-origin', maxBytes: f.size, bound: listed, timeoutMs: opts.downloadTimeoutMs, log: opts.log });
    }
    await checkFiles(files, manifest, label, base.href, into);
  };
  return { manifest, key: prebuiltKey(manifest), shownAs: base.href, check };
}

async function unpack(file: string, into: string, label: string, shownAs: string, limits: BundleLimits): Promise<string> {
  try {
    return await unpackTarball(file, into, limits);
  } catch (cause) {
    if (cause instanceof UnsafeTarball) throw new ConfigError(`${label}: ${shownAs}: ${cause.message}`);
    throw new ConfigError(`${label}: ${shownAs} is not a readable tarball: ${(cause as Error).message}`);
  }
}

async function checkFiles(dir: string, manifest: RigManifest, label: string, shownAs: string, into?: string): Promise<void> {
  const problems = await bundleProblems({ dir, manifest }, into);
  if (problems.length > 0) throw new ConfigError(`${label}: ${shownAs} is damaged:\n  ${problems.join('\n  ')}`);
}

/** A manifest from elsewhere names only plain paths, each once, with a sha256 and a size, within the limits. */
function checkManifest(m: RigManifest, label: string, shownAs: string, limits: BundleLimits): void {
  const bad = (why: string): never => {
    throw new ConfigError(`${label}: ${shownAs}: ${why}`);
  };
  if (m === null || typeof m !== 'object' || Array.isArray(m)) bad('the manifest is not a JSON object');
  if (m.schemaVersion !== 1) bad(`manifest schema ${String(m.schemaVersion)}, expected 1`);
  if (typeof m.key !== 'string' || !/^[0-9a-f]{64}$/.test(m.key)) bad('the manifest has no 64-hex-digit key');
  if (!Array.isArray(m.files) || m.files.length === 0) bad('the manifest lists no files');
  if (m.files.length > limits.entries) bad(`the manifest lists ${m.files.length} files, more than a bundle may have (${limits.entries})`);
  const seen = new Set<string>();
  let bytes = 0;
  for (const f of m.files) {
    const p: unknown = f?.path;
    if (!isPlainBundlePath(p) || p === MANIFEST_FILE) bad(`the manifest lists the file path ${JSON.stringify(p)}, which is not a plain path inside the bundle`);
    if (seen.has(f.path)) bad(`the manifest lists ${f.path} twice`);
    seen.add(f.path);
    if (typeof f.sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(f.sha256) || !Number.isSafeInteger(f.size) || f.size < 0) bad(`${f.path}: no sha256 or size in the manifest`);
    bytes += f.size;
  }
  if (bytes > limits.bytes) bad(`the manifest lists ${bytes} bytes of files, more than a bundle may have (${limits.bytes})`);
}
