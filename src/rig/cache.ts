// Content-addressed rig storage: a local directory per recipe key, built beside its final
// place and renamed in atomically, plus the optional @actions/cache layer for CI runners.
import { createHash } from 'node:crypto';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import * as actionsCache from '@actions/cache';
import { InfraError } from '../errors.js';
import { readRig, verifyRig, writeManifest } from './bundle.js';
import { MANIFEST_FILE, type Rig, type RigManifest } from './manifest.js';
import type { CheckedBundle, ObtainOptions, ObtainedRig } from './provider.js';

/** The default cache root: XEN_PVH_VIRTIO_CACHE, else $XDG_CACHE_HOME/xen-pvh-virtio, else ~/.cache/xen-pvh-virtio. */
export function defaultCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.XEN_PVH_VIRTIO_CACHE) return env.XEN_PVH_VIRTIO_CACHE;
  const xdg = env.XDG_CACHE_HOME || join(env.HOME || homedir(), '.cache');
  return join(xdg, 'xen-pvh-virtio');
}

export function rigDir(cacheDir: string, key: string): string {
  return join(cacheDir, 'rigs', key);
}

/** sha256 over a canonical JSON form of the recipe: key order never changes the key. */
export function recipeKey(recipe: unknown): string {
  return createHash('sha256').update(canonicalJson(recipe)).digest('hex');
}

function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

export async function hasBundle(dir: string): Promise<boolean> {
  return stat(join(dir, MANIFEST_FILE)).then(() => true, () => false);
}

/**
 * Runs build(tmp) in a fresh directory beside the final one and renames it into place, so
 * a crash never leaves a half-built bundle under the key. When another process finished
 * the same key first, its bundle is kept and ours discarded.
 */
export async function buildAtomically(finalDir: string, build: (tmpDir: string) => Promise<void>): Promise<void> {
  const tmp = `${finalDir}.tmp-${process.pid}-${Date.now()}`;
  await mkdir(tmp, { recursive: true });
  try {
    await build(tmp);
    try {
      await rename(tmp, finalDir);
    } catch (cause) {
      if (!(await hasBundle(finalDir))) throw cause;
    }
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

/** A verified bundle already at dir, or undefined (a damaged one is discarded for rebuilding). */
export async function reuseBundle(dir: string, log: (line: string) => void, discarding?: (line: string) => void): Promise<Rig | undefined> {
  if (!(await hasBundle(dir))) return undefined;
  try {
    const rig = await readRig(dir);
    await verifyRig(rig);
    log(`rig cache hit: ${dir}`);
    return rig;
  } catch (cause) {
    // Rebuilding is the right repair: a cache must never be why a run fails, and with the
    // components (Xen, QEMU) still cached the bundle is reassembled in about a minute.
    if (!discarding) return undefined;
    discarding(`discarding the damaged cached rig and rebuilding it: ${(cause as Error).message}`);
    await discardBundle(dir);
    return undefined;
  }
}

/** Moves a bundle that failed verification out of the way so it gets rebuilt. */
export async function discardBundle(dir: string): Promise<void> {
  const aside = `${dir}.damaged-${Date.now()}`;
  await rename(dir, aside);
  await rm(aside, { recursive: true, force: true });
}

/** What the Actions cache holds for us: rig bundles, and saved booted systems (snapshot/). */
export type CacheKind = 'rig' | 'state';

export function remoteKey(key: string, kind: CacheKind = 'rig'): string {
  return `xen-pvh-virtio-${kind}-${key}`;
}

const WHAT: Record<CacheKind, string> = { rig: 'rig', state: 'booted system' };

/** Restores a bundle from the Actions cache; false (with a warning) when unavailable or absent. */
export async function restoreRemote(key: string, dir: string, log: (line: string) => void, kind: CacheKind = 'rig'): Promise<boolean> {
  if (!actionsCache.isFeatureAvailable()) {
    log(`warning: the GitHub Actions cache is not available here; ${WHAT[kind]} ${key.slice(0, 12)} not restored from it`);
    return false;
  }
  try {
    const hit = await actionsCache.restoreCache([dir], remoteKey(key, kind));
    if (hit) log(`${WHAT[kind]} ${key.slice(0, 12)} restored from the Actions cache`);
    return hit !== undefined && (kind !== 'rig' || (await hasBundle(dir)));
  } catch (cause) {
    log(`warning: restoring ${WHAT[kind]} ${key.slice(0, 12)} from the Actions cache failed: ${(cause as Error).message}`);
    return false;
  }
}

/** Saves a bundle to the Actions cache (the action's post step calls this); never throws. */
export async function saveRemote(key: string, dir: string, log: (line: string) => void, kind: CacheKind = 'rig'): Promise<boolean> {
  if (!actionsCache.isFeatureAvailable()) {
    log(`warning: the GitHub Actions cache is not available here; ${WHAT[kind]} ${key.slice(0, 12)} not saved to it`);
    return false;
  }
  try {
    await actionsCache.saveCache([dir], remoteKey(key, kind));
    log(`${WHAT[kind]} ${key.slice(0, 12)} saved to the Actions cache`);
    return true;
  } catch (cause) {
    // An entry saved by a parallel job under the same key is as good as ours.
    log(`warning: saving ${WHAT[kind]} ${key.slice(0, 12)} to the Actions cache failed: ${(cause as Error).message}`);
    return false;
  }
}

/**
 * The one way a provider's bundle is obtained once its key is known: the local cache, then
 * (when asked) the Actions cache, then build() into a fresh directory (when mayBuild).
 * useCache false discards a cached bundle first. build() returns the manifest to write.
 */
export async function obtainKeyed(
  key: string,
  opts: ObtainOptions,
  mayBuild: boolean,
  build: (tmpDir: string) => Promise<RigManifest>,
): Promise<ObtainedRig | undefined> {
  const { log } = opts;
  const dir = rigDir(opts.cacheDir, key);
  if (opts.useCache === false) {
    if (await hasBundle(dir)) await discardBundle(dir);
  } else {
    // Only a caller that may rebuild discards a damaged bundle (plan and verify leave it be).
    const warn = opts.warn ?? log;
    const cached = await reuseBundle(dir, log, mayBuild ? warn : undefined);
    if (cached) return { rig: cached, cacheHit: true, key };
    if (opts.remoteCache && (await restoreRemote(key, dir, log))) {
      const restored = await reuseBundle(dir, log, warn);
      if (restored) return { rig: restored, cacheHit: true, key };
    }
  }
  if (!mayBuild) return undefined;
  await buildAtomically(dir, async (tmp) => writeManifest(tmp, await build(tmp)));
  const rig = await readRig(dir);
  await verifyRig(rig);
  return { rig, cacheHit: false, key };
}

/** `rig verify` for the rig cached under key: every file checked, nothing changed. */
export async function checkCachedRig(cacheDir: string, key: string): Promise<CheckedBundle> {
  const dir = rigDir(cacheDir, key);
  if (!(await hasBundle(dir))) throw new InfraError(`rig verify: no rig for this recipe in the cache (${dir}); \`xen-pvh-virtio rig build\` builds it`);
  const rig = await readRig(dir);
  await verifyRig(rig);
  return { shownAs: dir, key, files: rig.manifest.files.length };
}
