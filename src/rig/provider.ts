// The rig provider contract. A provider (debian/, source/, prebuilt/, yocto/) turns a
// RigRequest into a verified bundle in the cache; registry.ts maps each provider name to its
// module, and index.ts dispatches every rig operation through that map and nothing else.
import type { RigProvider as RigProviderName, RigRequest } from '../config/types.js';
import type { BuildReport } from './build/failure.js';
import type { Rig } from './manifest.js';

export type { RigProviderName };

/** What every provider is given besides the request. */
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
  /**
   * Told about each build of a tree under test (the source provider's Xen and QEMU): from the
   * cache, built, or failed (a BuildFailure, thrown after). The run reports each as a test case.
   */
  onBuild?: (report: BuildReport) => void;
}

/** What every provider hands back: a verified bundle on disk and the key it is stored under. */
export interface ObtainedRig {
  rig: Rig;
  /** true when the bundle came from a cache (this runner's or the Actions cache). */
  cacheHit: boolean;
  key: string;
}

export interface CheckOptions {
  cacheDir: string;
  log: (line: string) => void;
}

/** What `rig verify` reports of a bundle that checked out. */
export interface CheckedBundle {
  shownAs: string;
  key: string;
  files: number;
}

export interface RigProviderModule {
  /** Printable recipe data for `xen-pvh-virtio plan`: no network, no building. */
  recipe(request: RigRequest, opts: { cacheDir: string }): Record<string, unknown>;
  /**
   * The rig for the request: from the local cache, then (opts.remoteCache) the Actions cache,
   * then built. With mayBuild false (what `plan` uses) nothing is built, downloaded or copied,
   * and undefined means the cache does not hold it.
   */
  obtain(request: RigRequest, opts: ObtainOptions, mayBuild: boolean): Promise<ObtainedRig | undefined>;
  /**
   * `rig verify` without --rig-path: this recipe's cached rig checked file by file, nothing
   * changed; the error names every damaged or missing file. A provider without it can only
   * have its bundles checked through --rig-path.
   */
  check?(request: RigRequest, opts: CheckOptions): Promise<CheckedBundle>;
}
