// Rigs a release of this action published (.github/workflows/release.yml): every user of a
// release would build the very same bytes, so the release builds them once and attaches
// them as `<key>.tar.gz` with a `SHA256SUMS` list. Before building, the debian provider looks
// for its own key there and takes the bundle only when everything holds: the list names it,
// the tarball has the listed sha256, its manifest's key is the key our recipe computed, and
// every file matches the manifest. Anything else is a reason, logged, to build instead.
import { copyFile, mkdir, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { PublishedSource } from '../config/types.js';
import { ConfigError } from '../errors.js';
import { readRig, sha256File, verifyRig } from './bundle.js';
import { isPlainBundlePath, type RigManifest } from './manifest.js';
import { download, downloadText, isSecureOrLocal } from './prebuilt/fetch.js';
import { BUNDLE_LIMITS } from './prebuilt/incoming.js';
import { unpackTarball } from './prebuilt/tarball.js';

/** Where releases of this action live (the same placeholder the README's `uses:` line has). */
export const RELEASE_REPOSITORY = 'org/xen-pvh-virtio-action';
export const CHECKSUMS_FILE = 'SHA256SUMS';
/** Reads are bounded: a checksum list is a few lines, a bundle tens of MiB. */
export const PUBLISHED_LIMITS = { checksums: 64 * 1024, bundle: 2 * 1024 ** 3 };

export type { PublishedSource };

/** A mirror given by the user: https, or http on this machine only. */
export function checkMirror(raw: string, label: string): URL {
  let url: URL;
  try {
    url = new URL(raw.endsWith('/') ? raw : `${raw}/`);
  } catch {
    throw new ConfigError(`${label}: not a URL: ${raw}`);
  }
  if (!isSecureOrLocal(url)) {
    throw new ConfigError(`${label}: published rigs are fetched over https only (http only from this machine), got ${url.protocol}//${url.host}`);
  }
  if (url.username || url.password) throw new ConfigError(`${label}: credentials in the URL would reach logs; serve the mirror without them`);
  return url;
}

/**
 * The running release's published rigs: the mirror when one is configured; in Actions the
 * release of the action's own repository and ref (GITHUB_ACTION_REPOSITORY/_REF); from the
 * CLI the release of its package version.
 */
export function publishedSource(o: { download: boolean; mirror?: string; mirrorLabel: string; env: NodeJS.ProcessEnv; version: string }): PublishedSource {
  if (!o.download) return { via: 'rig-download is false' };
  if (o.mirror) return { url: checkMirror(o.mirror, o.mirrorLabel).href, via: `the mirror ${o.mirror}` };
  const repo = o.env.GITHUB_ACTION_REPOSITORY;
  const ref = o.env.GITHUB_ACTION_REF;
  if (repo && ref) {
    if (!/^[A-Za-z0-9-]+\/[A-Za-z0-9._-]+$/.test(repo)) return { via: `GITHUB_ACTION_REPOSITORY is not owner/name: ${repo}` };
    const server = o.env.GITHUB_SERVER_URL && /^https:\/\/[A-Za-z0-9.-]+(:\d+)?$/.test(o.env.GITHUB_SERVER_URL) ? o.env.GITHUB_SERVER_URL : 'https://github.com';
    return { url: `${server}/${repo}/releases/download/${encodeURIComponent(ref)}/`, via: `the release ${ref} of ${repo}` };
  }
  return { url: `https://github.com/${RELEASE_REPOSITORY}/releases/download/v${encodeURIComponent(o.version)}/`, via: `the release v${o.version} of ${RELEASE_REPOSITORY}` };
}

/** The bundle's file name among the release assets. */
export function publishedName(key: string): string {
  return `${key}.tar.gz`;
}

/** `sha256  name` lines (sha256sum's format, text or binary mode). */
export function parseChecksums(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of text.split('\n')) {
    const m = /^([0-9a-f]{64}) [ *](\S+)\s*$/.exec(line.trim());
    if (m) out.set(m[2]!, m[1]!);
  }
  return out;
}

export class PublishedRefused extends Error {}

/**
 * The bundle this release published for key, its files copied into dir; undefined (with the
 * reason logged) when there is none to take, so the caller builds instead.
 */
export async function takePublished(
  key: string,
  source: PublishedSource | undefined,
  dir: string,
  opts: { cacheDir: string; log: (line: string) => void },
): Promise<RigManifest | undefined> {
  if (!source?.url) {
    if (source) opts.log(`published rig: not looked for (${source.via})`);
    return undefined;
  }
  const staging = join(opts.cacheDir, 'published', `staging-${process.pid}`);
  try {
    const manifest = await fetchPublished(key, { ...source, url: source.url }, dir, staging, opts.log);
    opts.log(`published rig ${key.slice(0, 12)} from ${source.via}: downloaded and verified (SHA256SUMS, key, every file), nothing to build`);
    return manifest;
  } catch (cause) {
    if (!(cause instanceof PublishedRefused)) throw cause;
    opts.log(`published rig not used, building instead: ${cause.message}`);
    return undefined;
  }
}

/**
 * The published bundle for key, verified, its files copied into dir; its manifest returned.
 * Throws PublishedRefused with the reason when it is not there or does not hold.
 */
export async function fetchPublished(
  key: string,
  source: PublishedSource & { url: string },
  dir: string,
  staging: string,
  log: (line: string) => void,
  /** For the checksum list, the probe: short, so a runner without network builds at once. */
  listTimeoutMs = 60_000,
): Promise<RigManifest> {
  const base = new URL(source.url);
  const label = `published rig (${source.via})`;
  await rm(staging, { recursive: true, force: true });
  await mkdir(staging, { recursive: true });
  try {
    let sums: Map<string, string>;
    try {
      // Release assets are served from another host than the release page: any https redirect is followed.
      sums = parseChecksums(await downloadText(new URL(CHECKSUMS_FILE, base), label, { redirects: 'https', maxBytes: PUBLISHED_LIMITS.checksums, timeoutMs: listTimeoutMs, log }));
    } catch (cause) {
      throw new PublishedRefused((cause as Error).message);
    }
    const name = publishedName(key);
    const want = sums.get(name);
    if (!want) throw new PublishedRefused(`${source.via} publishes no rig for key ${key.slice(0, 12)} (its ${CHECKSUMS_FILE} lists ${sums.size} file${sums.size === 1 ? '' : 's'})`);
    const tarball = join(staging, name);
    log(`downloading the published rig ${new URL(name, base).href}`);
    try {
      await download(new URL(name, base), tarball, label, { redirects: 'https', maxBytes: PUBLISHED_LIMITS.bundle, log });
    } catch (cause) {
      throw new PublishedRefused((cause as Error).message);
    }
    const got = await sha256File(tarball);
    if (got !== want) throw new PublishedRefused(`${name} has sha256 ${got}, but ${CHECKSUMS_FILE} says ${want}`);
    const unpacked = join(staging, 'bundle');
    await mkdir(unpacked);
    let rig;
    try {
      rig = await readRig(await unpackTarball(tarball, unpacked, BUNDLE_LIMITS));
      // Files stay inside the bundle: a manifest naming ../x or /etc/x would read or write elsewhere.
      const outside = rig.manifest.files.filter((f) => !isPlainBundlePath(f.path));
      if (outside.length) throw new Error(`its manifest names files outside the bundle: ${outside.map((f) => f.path).join(', ')}`);
      await verifyRig(rig);
    } catch (cause) {
      throw new PublishedRefused(`${name} is not a sound bundle: ${(cause as Error).message}`);
    }
    // The list vouches for the bytes; only the key says they are what our recipe would build.
    if (rig.manifest.key !== key) throw new PublishedRefused(`${name} holds the rig ${rig.manifest.key.slice(0, 12)}, not ${key.slice(0, 12)}, which this recipe computes`);
    for (const f of rig.manifest.files) {
      await mkdir(dirname(join(dir, f.path)), { recursive: true });
      await copyFile(join(rig.dir, f.path), join(dir, f.path));
    }
    return rig.manifest;
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}
