// The rig stage's public face: turn a RigRequest into a verified bundle on disk, from the
// local cache, the Actions cache, or a fresh build. Every operation goes to the request's
// provider through the registry (registry.ts); the contract they keep is provider.ts.
import { ConfigError } from '../errors.js';
import type { RigRequest } from '../config/types.js';
import { defaultCacheDir } from './cache.js';
import type { CheckedBundle, CheckOptions, ObtainOptions, ObtainedRig } from './provider.js';
import { RIG_PROVIDERS, rigProvider } from './registry.js';

export { readRig, rigFile, verifyRig } from './bundle.js';
export { defaultCacheDir, restoreRemote, saveRemote, rigDir } from './cache.js';
export { READY_LINE } from './debian/scripts.js';
export { exportRig } from './prebuilt/index.js';
export { BuildFailure, type BuildReport } from './build/failure.js';
export type { Rig, RigManifest, RigFile, FileRole, Capability } from './manifest.js';
export type { CheckedBundle, ObtainOptions, ObtainedRig } from './provider.js';

/** Printable recipe data for `xen-pvh-virtio plan`: no network, no building. */
export function rigRecipe(request: RigRequest, cacheDir = defaultCacheDir()): Record<string, unknown> {
  return rigProvider(request.provider).recipe(request, { cacheDir });
}

export async function obtainRig(request: RigRequest, opts: ObtainOptions): Promise<ObtainedRig> {
  return (await rigProvider(request.provider).obtain(request, opts, true))!;
}

/** The rig if it is already in the local cache; never builds (what `plan` uses). */
export async function findCachedRig(request: RigRequest, opts: Omit<ObtainOptions, 'remoteCache' | 'useCache'>): Promise<ObtainedRig | undefined> {
  return rigProvider(request.provider).obtain(request, { ...opts, remoteCache: false }, false);
}

/**
 * Checks a rig bundle without changing anything: the one at the request's rig-path (through
 * the very checks a run makes before using it), else the cached one for the request's recipe.
 * Throws an error naming every damaged or missing file.
 */
export async function checkRig(request: RigRequest, opts: CheckOptions): Promise<CheckedBundle> {
  // A bundle named by rig-path is untrusted input whichever provider made it: the prebuilt
  // provider's checks are the ones a run would make before using it.
  if (request.rigPath !== undefined) return RIG_PROVIDERS.prebuilt.check(request, opts);
  const { check } = rigProvider(request.provider);
  if (!check) throw new ConfigError(`rig verify: give --rig-path for rig provider '${request.provider}'`);
  return check(request, opts);
}
