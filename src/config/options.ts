// Every run option, once. action.yml's inputs, the CLI's flags and the README table are
// all checked against this table, so a workflow and a local command read alike.

export interface OptionSpec {
  description: string;
  /** The default as action.yml spells it; absent when the option has none. */
  default?: string;
  /** Allowed values, when the option is a choice. */
  choices?: readonly string[];
  kind: 'string' | 'boolean' | 'integer' | 'choice' | 'list';
}

export const SEED_SCENARIO = 'virtio-pci-rescan-ping';

export const OPTIONS = {
  scenarios: {
    kind: 'list',
    description:
      'Scenarios to run: built-in names (see `xen-pvh-virtio scenarios list`) or paths/globs of scenario YAML files, separated by newlines, commas or spaces; quote a path that holds spaces ("my dir/a.yaml").',
    default: SEED_SCENARIO,
  },
  shard: {
    kind: 'string',
    description:
      "Run only this job's share of the selected scenarios, as `i/n` (1 ≤ i ≤ n) in a matrix of n jobs: the split is by each scenario's estimated cost and the same on every runner, so the n jobs run every scenario exactly once (`xen-pvh-virtio merge` joins their reports). Empty = all of them.",
  },
  jobs: {
    kind: 'string',
    description:
      'Systems run at once on this runner, each with its own QEMU, ports, sockets and logs; scenarios go to systems as they free up. Empty: one per 2 cores and 4 GiB of memory (1 on a 2-core runner); 1 runs the scenarios one after another.',
  },
  rig: {
    kind: 'choice',
    choices: ['debian', 'source', 'yocto', 'prebuilt'],
    description: 'Where the Xen/Linux/QEMU stack comes from: debian (embedded default, built from Debian packages), source (git refs), yocto (kas + SDK) or prebuilt (a rig bundle).',
    default: 'debian',
  },
  'xen-repo': { kind: 'string', description: 'Xen git repository for rig: source.', default: 'https://xenbits.xen.org/git-http/xen.git' },
  'xen-ref': { kind: 'string', description: 'Xen branch, tag or commit for rig: source.', default: 'master' },
  'qemu-repo': { kind: 'string', description: 'QEMU git repository for rig: source.', default: 'https://gitlab.com/qemu-project/qemu.git' },
  'qemu-ref': { kind: 'string', description: 'QEMU branch, tag or commit for rig: source.', default: 'master' },
  'xen-path': {
    kind: 'string',
    description:
      'Local Xen source tree for rig: source (e.g. `.` after actions/checkout), instead of xen-repo/xen-ref; a git checkout is keyed by its commit plus its uncommitted changes.',
  },
  'qemu-path': {
    kind: 'string',
    description: 'Local QEMU source tree for rig: source, instead of qemu-repo/qemu-ref; keyed like xen-path.',
  },
  'qemu-subprojects': {
    kind: 'string',
    description:
      "Folder of QEMU's meson subprojects for rig: source on a runner without network (a tree shaped like upstream's git has only their .wrap files): a folder per subproject named like the wrap's `directory`, or the archives meson's packagecache holds. Without it, missing ones are downloaded by meson and cached.",
  },
  kernel: {
    kind: 'choice',
    choices: ['debian', 'source'],
    description: "Linux for dom0 and the domUs: debian (Debian's arm64 kernel package) or source (built from linux-path or linux-repo/linux-ref, else Debian's own 6.12 source, with our small config that has CONFIG_XEN_VIRTIO); default: source for rig: source, debian for rig: debian.",
  },
  'linux-repo': { kind: 'string', description: "Linux git repository to build the kernel from (implies kernel: source)." },
  'linux-ref': { kind: 'string', description: "Linux branch, tag or commit for linux-repo (implies kernel: source)." },
  'linux-path': { kind: 'string', description: "Local Linux source tree to build the kernel from (implies kernel: source); keyed like xen-path." },
  'xen-patches': {
    kind: 'list',
    description: 'Patch files (paths or globs, applied in order with patch -p1) for the Xen source the rig builds from.',
  },
  'qemu-patches': {
    kind: 'list',
    description: 'Patch files (paths or globs, applied in order with patch -p1) for the QEMU source the rig builds from.',
  },
  'xen-configure-args': {
    kind: 'string',
    description:
      "Extra arguments for the configure of Xen's tools, rig: source only (e.g. `--disable-golang`): one line, split at spaces, with '…' or \"…\" keeping an argument with spaces whole; they go into the component's cache key.",
  },
  'xen-make-args': {
    kind: 'string',
    description: 'Extra arguments for every make of the Xen hypervisor and tools, rig: source only (e.g. `debug=y EXTRA_CFLAGS_XEN_CORE=-Wno-error`); split and keyed like xen-configure-args.',
  },
  'qemu-configure-args': {
    kind: 'string',
    description: "Extra arguments appended to QEMU's configure, rig: source only (e.g. `--disable-werror`); split and keyed like xen-configure-args.",
  },
  'incremental-builds': {
    kind: 'boolean',
    description:
      "Build the trees of yours (rig: source's Xen and QEMU, a kernel from linux-path or linux-repo) in build trees the cache keeps between runs, one per component with its objects, synced to each new tree file by file: a new commit recompiles only what it changed, and configure runs only when its inputs did (bisect's steps do this unless told false). The component is cached under the same key as from a clean build; false builds every tree in a fresh copy.",
    default: 'false',
  },
  'kas-file': { kind: 'string', description: 'kas configuration file for rig: yocto; default kas/yoxen-arm64.yml (a yoxen checkout in the working directory).' },
  'rig-path': { kind: 'string', description: 'Rig bundle for rig: prebuilt (as `rig export` writes it): a directory or tarball, by path, file:// or https:// URL (http:// only from 127.0.0.1).' },
  'rig-download': { kind: 'boolean', description: "Before building the debian rig, fetch the bundle this action release published for the same key (checked against the release's SHA256SUMS and the key our recipe computes); false always builds.", default: 'true' },
  'rig-mirror': { kind: 'string', description: "Base URL holding published rigs (`<key>.tar.gz` and `SHA256SUMS`) instead of this action's GitHub release: a mirror for enterprise or air-gapped runners; https only." },
  cache: { kind: 'boolean', description: 'Reuse rigs from the local cache and, in Actions, the Actions cache.', default: 'true' },
  'cache-max-size': {
    kind: 'string',
    description:
      'Budget of the local cache (e.g. 10G): at the end of a run, the least recently used rigs, components, toolchains, sources and saved systems are removed until it fits, never those the run used. 0 = no limit.',
    default: '10G',
  },
  snapshot: {
    kind: 'boolean',
    description:
      'Save the booted system (all domains at their shells) once and restore it for each later scenario that needs a fresh system; with cache, also for later runs.',
    default: 'true',
  },
  'cache-dir': {
    kind: 'string',
    description: 'Local cache directory (default: $XEN_PVH_VIRTIO_CACHE, else $XDG_CACHE_HOME/xen-pvh-virtio, else ~/.cache/xen-pvh-virtio).',
  },
  boot: {
    kind: 'choice',
    choices: ['uboot', 'direct'],
    description: 'How Xen starts: uboot (u-boot runs boot.scr and bootefi, as in the seed) or direct (QEMU -kernel with the modules loaded at DT addresses).',
    default: 'uboot',
  },
  'ssh-port': {
    kind: 'integer',
    description: "Host port on 127.0.0.1 forwarded to dom0's SSH server; 0 picks a free one.",
    default: '2222',
  },
  'timeout-minutes': { kind: 'integer', description: 'Deadline for the whole run, rig build included.', default: '60' },
  'keep-alive-on-failure': {
    kind: 'string',
    description:
      'After a failed or errored scenario, keep its machine up this long (e.g. `10m`) and print how to attach (SSH to dom0, the serial socket); SIGINT/SIGTERM ends the wait, timeout-minutes still bounds the run. 0 = off.',
    default: '0',
  },
  'fail-on-warnings': {
    kind: 'boolean',
    description:
      "Fail a scenario when its system printed a kernel or Xen warning (WARNING:, BUG:, Xen WARN, a failed assertion) that the scenario's `expected-warnings` do not match; warnings are reported either way.",
    default: 'false',
  },
  'junit-path': { kind: 'string', description: 'Where the JUnit report is written.', default: 'xen-pvh-virtio/junit.xml' },
  'logs-dir': {
    kind: 'string',
    description: 'Where console logs (raw and per domain), backend logs and the run summary are written.',
    default: 'xen-pvh-virtio/logs',
  },
} as const satisfies Record<string, OptionSpec>;

export type OptionName = keyof typeof OPTIONS;
export const OPTION_NAMES = Object.keys(OPTIONS) as OptionName[];

/** Raw option values as given (strings), with where each came from for error messages. */
export interface RawOptions {
  values: Partial<Record<OptionName, string>>;
  /** How a user names an option in this front end: "input `rig`" or "--rig". */
  label: (name: OptionName) => string;
}

export const OUTPUTS = {
  'junit-path': 'Path of the JUnit report.',
  passed: 'Number of scenarios that passed.',
  failed: 'Number of scenarios that failed (product failures).',
  errored: 'Number of scenarios that ended in an infrastructure error.',
  skipped: 'Number of scenarios skipped because the rig lacks a capability they require.',
  'rig-key': 'Content address of the rig that was used (its cache key).',
  'logs-dir': 'Directory holding the logs.',
  'cache-hit': 'true when the rig came from a cache (this runner\'s or the Actions cache), false when it was built or downloaded.',
} as const;

export type OutputName = keyof typeof OUTPUTS;

/** Names of state saved by the action's main step for its post step. */
export const STATE = {
  pids: 'xen-pvh-virtio-pids',
  rigKey: 'xen-pvh-virtio-rig-key',
  rigDir: 'xen-pvh-virtio-rig-dir',
  rigCacheHit: 'xen-pvh-virtio-rig-cache-hit',
  logsDir: 'xen-pvh-virtio-logs-dir',
  stateKey: 'xen-pvh-virtio-state-key',
  stateDir: 'xen-pvh-virtio-state-dir',
} as const;
