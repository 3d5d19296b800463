// Plain data produced by config/ and consumed by every later stage.
import type { Capability } from '../rig/manifest.js';
import type { Step } from '../steps/registry.js';

export type BootPath = 'uboot' | 'direct';
export type RigProvider = 'debian' | 'source' | 'yocto' | 'prebuilt';
export type KernelChoice = 'debian' | 'source';
export type VirtioPciMode = 'foreign' | 'grants';
export const VIRTIO_PCI_NODES = ['xen', 'passthrough'] as const;
export type VirtioPciNode = (typeof VIRTIO_PCI_NODES)[number];

/** A dom0less guest as a scenario describes it. Sizes are already parsed. */
export interface DomainSpec {
  /** The name used in scenario steps and as the DT node name (e.g. domU1). */
  name: string;
  /** Xen's domain id: domUs are created in DT order, so the first is 1. */
  domid: number;
  memoryMiB: number;
  cpus: number;
  vpl011: boolean;
  /** Absent when the domain gets no virtio-pci host bridge. */
  virtioPci?: VirtioPciMode;
  /** Address windows for the host bridge; upstream's defaults apply to what is absent. */
  virtioPciWindows?: VirtioPciWindows;
  /**
   * Who writes the host bridge into the domU's device tree: Xen, from its dom0less
   * `virtio-pci` property, or we, as a partial device tree. Absent: the rig decides
   * (image/host-bridge.ts).
   */
  virtioPciNode?: VirtioPciNode;
  /** Kernel command line; the rig's default when absent. */
  bootargs?: string;
}

/** A domain as one scenario asks for it: what it leaves out, another scenario may set. */
export type DomainRequest = Pick<DomainSpec, 'name' | 'domid'> & Partial<Omit<DomainSpec, 'name' | 'domid'>>;

export interface AddressWindow {
  base: bigint;
  size: bigint;
}

export interface VirtioPciWindows {
  ecam?: AddressWindow;
  mmio?: AddressWindow;
  prefetch?: AddressWindow;
  intxIrqBase?: number;
}

// Steps are defined by their kinds (steps/: one module per kind, and `Step` is derived from
// their registry); the types later stages name are re-exported with the rest of the plain data.
export type { ConsoleTarget } from '../steps/kind.js';
export type { Step, StepKindName } from '../steps/registry.js';
export type { BackendDevice, BackendStep } from '../steps/backend.js';

export interface Scenario {
  name: string;
  description?: string;
  /** The file it was read from (built-in scenarios live in scenarios/). */
  file: string;
  requires: Capability[];
  domains: DomainRequest[];
  steps: Step[];
  /** Needs a machine booted for it, not one restored from a saved state (it checks the boot itself). */
  freshBoot?: boolean;
  /** Warnings this scenario is known to cause: matching ones never fail it. */
  expectedWarnings?: RegExp[];
}

/** Where to look for a published rig, and how that place was chosen; `url` absent means do not look, and `via` says why. */
export interface PublishedSource {
  url?: string;
  via: string;
}

/** This runner's part: shard `index` (from 1) of `count`. */
export interface ShardSpec {
  index: number;
  count: number;
}

/** The split as the plan keeps it: this runner's part, and every shard's for `plan` to show. */
export interface ShardPlan extends ShardSpec {
  /** How many scenarios the whole selection has, across every shard. */
  selected: number;
  /** Every shard's scenarios (in the order they were given) and estimated cost; shard i is at i - 1. */
  shards: { scenarios: string[]; cost: number }[];
}

export interface RigRequest {
  provider: RigProvider;
  xenRepo?: string;
  xenRef?: string;
  qemuRepo?: string;
  qemuRef?: string;
  /** Local source trees (absolute), instead of a repository and ref. */
  xenPath?: string;
  qemuPath?: string;
  /** The user's folder of QEMU meson subprojects (absolute), for trees that carry only their wraps. */
  qemuSubprojects?: string;
  /** Linux for dom0 and the domUs: Debian's package, or built from source (rig/kernel/). */
  kernel?: KernelChoice;
  linuxRepo?: string;
  linuxRef?: string;
  linuxPath?: string;
  kasFile?: string;
  rigPath?: string;
  /** Users' patch files (absolute paths, in order) for the Xen and QEMU sources. */
  xenPatches?: string[];
  qemuPatches?: string[];
  /** The user's extra build arguments (rig: source), each an argv element; absent when none were given. */
  xenConfigureArgs?: string[];
  xenMakeArgs?: string[];
  qemuConfigureArgs?: string[];
  /** Build Xen and QEMU in the cache's persistent build trees (rig/build/build-tree.ts) rather than fresh copies. */
  incrementalBuilds?: boolean;
  /** Where the debian provider looks for a bundle this release published before it builds (rig/published.ts). */
  published?: PublishedSource;
  /** How the user named rig-path and kas-file ("input `rig-path`" / "--rig-path"), for errors. */
  labels?: { rigPath?: string; kasFile?: string; xenPath?: string; qemuPath?: string; linuxPath?: string; qemuSubprojects?: string };
}

/** Everything a run needs to know, resolved and validated. */
export interface RunPlan {
  /** The scenarios this run runs: with a shard, only its share of the selection. */
  scenarios: Scenario[];
  /** Set when the run is one shard of a matrix: which one, and the whole split. */
  shard?: ShardPlan;
  /** The union of the scenarios' domains: one boot serves them all. */
  domains: DomainSpec[];
  rig: RigRequest;
  /** maxBytes: the local cache's budget, applied at the end of a run; 0 = no limit. */
  cache: { enabled: boolean; dir: string; maxBytes: number };
  /** Save the booted system once and restore it for later scenarios (and, with cache, later runs). */
  snapshot: boolean;
  boot: BootPath;
  /** Host port forwarded to dom0's port 22; 0 means pick a free one. */
  sshPort: number;
  /** Systems run at once (lanes of the system pool); 1 runs scenarios one after another. */
  jobs: number;
  timeoutMinutes: number;
  /** After a failed or errored scenario, how long its machine stays up for a developer to attach; 0 = off. */
  keepAliveOnFailureMs: number;
  /** Unexpected kernel or Xen warnings fail the scenario (they are reported either way). */
  failOnWarnings: boolean;
  junitPath: string;
  logsDir: string;
  /** How the user named junit-path and logs-dir ("--junit-path" / "input `junit-path`"), for errors. */
  labels: { junitPath: string; logsDir: string };
}
