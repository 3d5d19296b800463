// The yocto provider's plan: from the kas file to the exact kas invocations (argument
// arrays), the cache keys for DL_DIR, SSTATE_DIR, the SDK and the SDK-built QEMU, and where
// Yocto will put its outputs. Pure apart from reading the kas file(s); runs nothing.
import { arch } from 'node:os';
import { join, resolve } from 'node:path';
import { ConfigError } from '../../errors.js';
import type { RigRequest } from '../../config/types.js';
import { recipeKey } from '../cache.js';
import { loadKasConfig, type KasConfig } from './kas-config.js';

/** Bump when the procedure changes in a way the data below does not show. */
export const YOCTO_PLAN_VERSION = 'yocto-plan-1';

/** yoxen's arm64 configuration, relative to a yoxen checkout (the working directory). */
export const DEFAULT_KAS_FILE = 'kas/yoxen-arm64.yml';
export const DOM0_IMAGE = 'xen-image-minimal';
export const DOMU_IMAGE = 'core-image-minimal';
/** The SDK is populated for the dom0 image: it carries the Xen libraries QEMU links against. */
export const SDK_IMAGE = DOM0_IMAGE;

export const DEFAULT_QEMU_REPO = 'https://gitlab.com/qemu-project/qemu.git';
export const DEFAULT_QEMU_REF = 'master';

/**
 * QEMU's configure options for the dom0 device model, as the seed's author builds it with
 * the xen-image-minimal SDK (the prefix is where it lands inside dom0).
 */
export const QEMU_SDK_CONFIGURE_FLAGS = [
  '--enable-debug-info',
  '--prefix=/usr',
  '--target-list=aarch64-softmmu',
  '--disable-tcg',
  '--enable-xen',
  ...[
    'libusb', 'libudev', 'bzip2', 'snappy', 'lzo', 'kvm', 'gtk', 'curl', 'sdl', 'curses', 'vhdx', 'hv-balloon',
    'virtfs', 'vhost-crypto', 'vhost-kernel', 'vhost-net', 'vhost-user', 'vhost-user-blk-server', 'selinux',
    'gnutls', 'gcrypt', 'nettle', 'crypto-afalg', 'vte', 'vmdk', 'alsa', 'oss', 'sndio', 'coreaudio', 'pa', 'qed',
    'bochs', 'cloop', 'replication', 'l2tpv3', 'vvfat', 'glusterfs', 'png', 'parallels', 'vpc', 'qcow1',
    'multiprocess', 'dmg', 'vdi', 'vhost-vdpa', 'rdma', 'dbus-display', 'qom-cast-debug', 'attr', 'keyring',
    'libvduse', 'vduse-blk-export',
  ].map((feature) => `--disable-${feature}`),
  '--extra-cflags=-Os',
  '--disable-linux-aio',
  '--disable-linux-io-uring',
  '--enable-trace-backends=log',
  '--enable-slirp',
] as const;

/** One host command: what it is for, its argument array and the environment it adds. */
export interface Invocation {
  purpose: string;
  argv: string[];
  env: Record<string, string>;
}

/** A directory kept between runs (locally and in the Actions cache) under a key of its own. */
export interface CacheSlot {
  key: string;
  dir: string;
  /** What the key hashes, in words: the README and `plan` show it. */
  hashes: string;
}

export interface YoctoPlan {
  kasFile: string;
  kas: KasConfig;
  machine: string;
  /** KAS_WORK_DIR and KAS_BUILD_DIR: layers checked out and bitbake's TMPDIR live here. */
  workDir: string;
  buildDir: string;
  /** Where Yocto deploys the machine's images (tmp/deploy/images/<machine>). */
  deployDir: string;
  /** Where populate_sdk leaves the SDK installer. */
  sdkDeployDir: string;
  caches: { downloads: CacheSlot; sstate: CacheSlot; sdk: CacheSlot; qemu: CacheSlot };
  /** dom0 image, domU image, then the SDK. */
  kasSteps: Invocation[];
  qemu: { repo: string; ref: string; configure: string[]; env: Record<string, string> };
  /** Changes when anything that goes into the bundle changes. */
  key: string;
}

export interface YoctoPlanOptions {
  cacheDir: string;
  cwd: string;
  /** Host CPU, for the sstate and SDK keys (native tools and the SDK host part differ by host). */
  hostArch?: string;
}

export function planYocto(request: RigRequest, opts: YoctoPlanOptions): YoctoPlan {
  const label = request.labels?.kasFile ?? 'kas-file';
  const kasFile = resolve(opts.cwd, request.kasFile ?? DEFAULT_KAS_FILE);
  const kas = loadKasConfig(kasFile, request.kasFile ? label : `${label} (default ${DEFAULT_KAS_FILE}, in a yoxen checkout)`);
  if (!kas.machine) throw new ConfigError(`${label}: ${kasFile} sets no machine; the rig needs an arm64 machine such as qemuarm64`);
  const machine = kas.machine;
  const hostArch = opts.hostArch ?? arch();

  // Layers and their revisions decide which sources recipes fetch: that alone keys DL_DIR.
  const layers = Object.entries(kas.repos)
    .map(([name, r]) => ({ name, url: r?.url, commit: r?.commit, branch: r?.branch, tag: r?.tag, refspec: r?.refspec, path: r?.path }))
    .sort((a, b) => (a.name < b.name ? -1 : 1));
  const downloadsInputs = { version: YOCTO_PLAN_VERSION, layers, unresolvedIncludes: kas.unresolvedIncludes };
  // Everything the configuration says except which target to build: it decides the sstate objects.
  const { target: _target, task: _task, ...buildConfig } = kas.merged;
  const sstateInputs = { ...downloadsInputs, config: buildConfig, hostArch };
  const sdkInputs = { ...sstateInputs, sdkImage: SDK_IMAGE, task: 'populate_sdk' };
  const sdkKey = recipeKey(sdkInputs);
  const qemuRepo = request.qemuRepo ?? DEFAULT_QEMU_REPO;
  const qemuRef = request.qemuRef ?? DEFAULT_QEMU_REF;
  const qemuInputs = { version: YOCTO_PLAN_VERSION, sdk: sdkKey, repo: qemuRepo, ref: qemuRef, configure: [...QEMU_SDK_CONFIGURE_FLAGS], patches: request.qemuPatches ?? [] };

  const root = join(opts.cacheDir, 'yocto');
  const slot = (name: string, inputs: unknown, hashes: string): CacheSlot => {
    const key = recipeKey(inputs);
    return { key, dir: join(root, name, key), hashes };
  };
  const downloads = slot('downloads', downloadsInputs, 'the layers (name, url, commit/branch/tag/refspec, path) and includes from layers not yet checked out');
  const sstate = slot('sstate', sstateInputs, 'the downloads inputs, plus the merged kas configuration without target/task (machine, distro, local.conf and bblayers.conf headers, env) and the host CPU');
  const sdk = { key: sdkKey, dir: join(root, 'sdk', sdkKey), hashes: `the sstate inputs, plus the SDK image (${SDK_IMAGE}) and task populate_sdk` };
  const qemu = slot('qemu', qemuInputs, 'the SDK key, the QEMU repository and ref, the configure options and the QEMU patches');

  const workDir = join(root, 'work', sstate.key);
  const buildDir = join(workDir, 'build');
  const env = { KAS_WORK_DIR: workDir, KAS_BUILD_DIR: buildDir, DL_DIR: downloads.dir, SSTATE_DIR: sstate.dir };
  const kasSteps: Invocation[] = [
    { purpose: `dom0 image (${DOM0_IMAGE})`, argv: ['kas', 'build', kasFile, '--target', DOM0_IMAGE], env },
    { purpose: `domU image (${DOMU_IMAGE}, as a cpio.gz)`, argv: ['kas', 'build', kasFile, '--target', DOMU_IMAGE], env },
    { purpose: `SDK (bitbake -c populate_sdk ${SDK_IMAGE})`, argv: ['kas', 'build', kasFile, '--target', SDK_IMAGE, '-c', 'populate_sdk'], env },
  ];

  const key = recipeKey({ version: YOCTO_PLAN_VERSION, images: { ...sstateInputs, dom0: DOM0_IMAGE, domU: DOMU_IMAGE }, sdk: sdk.key, qemu: qemu.key });
  return {
    kasFile,
    kas,
    machine,
    workDir,
    buildDir,
    deployDir: join(buildDir, 'tmp', 'deploy', 'images', machine),
    sdkDeployDir: join(buildDir, 'tmp', 'deploy', 'sdk'),
    caches: { downloads, sstate, sdk, qemu },
    kasSteps,
    // The SDK's environment-setup script sets CC, CFLAGS, PKG_CONFIG_SYSROOT_DIR…; PKG_CONFIG is as the seed sets it.
    qemu: { repo: qemuRepo, ref: qemuRef, configure: [...QEMU_SDK_CONFIGURE_FLAGS], env: { PKG_CONFIG: 'pkg-config' } },
    key,
  };
}

/** Printable recipe data for `xen-pvh-virtio plan`. */
export function describeYoctoPlan(plan: YoctoPlan): Record<string, unknown> {
  return {
    provider: 'yocto',
    kasFile: plan.kasFile,
    kasFilesRead: plan.kas.files,
    machine: plan.machine,
    kas: plan.kasSteps.map((s) => ({ purpose: s.purpose, command: s.argv.join(' ') })),
    environment: plan.kasSteps[0]!.env,
    caches: Object.fromEntries(Object.entries(plan.caches).map(([name, c]) => [name, { key: c.key, dir: c.dir, hashes: c.hashes }])),
    qemu: { repo: plan.qemu.repo, ref: plan.qemu.ref, configure: plan.qemu.configure, env: plan.qemu.env },
    deployDir: plan.deployDir,
  };
}
