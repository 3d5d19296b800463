// The backend QEMU build every provider that compiles QEMU shares: qemu-system-aarch64 only,
// with our device list, cross-built with the pinned toolchain. The constants here feed the key
// of every QEMU component (qemu, source-qemu).
import { availableParallelism } from 'node:os';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { delimiter, join } from 'node:path';
import { run } from '../../host/exec.js';
import { XENPVH_PCI_PROPERTY } from '../capabilities.js';
import { CROSS_PREFIX, type Toolchain } from '../toolchain/index.js';
import type { ComponentBuild } from './component.js';

/** Debian's python, not whatever python3 comes first on PATH (a pyenv shim on some hosts). */
const HOST_PYTHON = '/usr/bin/python3';

export const QEMU_TARGET = 'qemu-system-aarch64';

export const QEMU_DEVICES_NAME = 'xenpvh-virtio';
// --disable-tcg compiles no PCI devices by default: name the ones the backend serves.
export const QEMU_DEVICES = `# Devices for the dom0 backend QEMU of xen-pvh-virtio-action (xenpvh machine,
# --disable-tcg --without-default-devices). CONFIG_XEN selects the GPEX host and the Xen bus.
CONFIG_VIRTIO_PCI=y
CONFIG_VIRTIO_NET=y
CONFIG_VIRTIO_BLK=y
# xenpvh on Arm always instantiates virtio-mmio transports
CONFIG_VIRTIO_MMIO=y
`;

/** Options for QEMU's configure, after --cross-prefix and --python (which name host paths). */
export const QEMU_CONFIGURE_FLAGS = [
  '--target-list=aarch64-softmmu',
  '--prefix=/usr',
  '--enable-xen',
  '--disable-tcg',
  '--enable-slirp',
  '--enable-fdt=system',
  '--enable-trace-backends=log',
  `--with-devices-aarch64=${QEMU_DEVICES_NAME}`,
  '--without-default-devices',
  // Debian's source has the firmware blobs stripped.
  '--disable-install-blobs',
  // A missing library should fail the build, not fetch a subproject.
  '--disable-download',
  ...[
    'alsa', 'attr', 'bochs', 'bzip2', 'cloop', 'coreaudio', 'crypto-afalg', 'curl', 'curses', 'dbus-display',
    'dmg', 'gcrypt', 'glusterfs', 'gnutls', 'gtk', 'hv-balloon', 'keyring', 'kvm', 'l2tpv3', 'libudev',
    'libusb', 'libvduse', 'linux-aio', 'linux-io-uring', 'lzo', 'multiprocess', 'nettle', 'oss', 'pa',
    'parallels', 'png', 'qcow1', 'qed', 'qom-cast-debug', 'rdma', 'replication', 'sdl', 'selinux', 'snappy',
    'sndio', 'vdi', 'vduse-blk-export', 'vhdx', 'vhost-crypto', 'vhost-kernel', 'vhost-net', 'vhost-user',
    'vhost-user-blk-server', 'vhost-vdpa', 'virtfs', 'vmdk', 'vpc', 'vte', 'vvfat',
  ].map((feature) => `--disable-${feature}`),
] as const;

/** configure, ninja's own meson re-runs and `meson subprojects` all need trixie's meson first on the paths. */
export function mesonEnv(meson: string, toolchain: Toolchain, env?: Record<string, string>): Record<string, string> {
  return {
    ...env,
    PATH: [join(meson, 'usr', 'bin'), toolchain.env.PATH].join(delimiter),
    PYTHONPATH: [join(meson, 'usr', 'lib', 'python3', 'dist-packages'), process.env.PYTHONPATH].filter(Boolean).join(delimiter),
  };
}

/**
 * Configures and builds qemu-system-aarch64 in tree with our device config, strips it into
 * out, and reads the xenpvh PCI feature off the source. env adds to the build's environment
 * (e.g. PKG_CONFIG_PATH for Xen libraries of our own). `buildDir` (default: the work
 * folder's build/) may hold an earlier build of the same tree, configured already when
 * `configured` says so: ninja then rebuilds what changed, and re-runs meson itself when a
 * meson.build did.
 */
export async function compileQemu(
  build: ComponentBuild,
  tree: string,
  out: string,
  opts: { meson: string; configure: readonly string[]; toolchain: Toolchain; env?: Record<string, string>; buildDir?: string; configured?: boolean },
): Promise<Record<string, boolean>> {
  // Written only when it differs: a new mtime would have meson regenerate the device config, and ninja rebuild on it.
  const devices = join(tree, 'configs', 'devices', 'aarch64-softmmu', `${QEMU_DEVICES_NAME}.mak`);
  if ((await readFile(devices, 'utf8').catch(() => undefined)) !== QEMU_DEVICES) await writeFile(devices, QEMU_DEVICES);
  const env = mesonEnv(opts.meson, opts.toolchain, opts.env);
  const dir = opts.buildDir ?? join(build.work, 'build');
  await mkdir(dir, { recursive: true });
  if (!opts.configured) {
    await build.step('configure (about 15 s on 2 idle cores)', 'configure.log', join(tree, 'configure'), [`--python=${HOST_PYTHON}`, ...opts.configure], { cwd: dir, env });
  }
  const jobs = availableParallelism();
  await build.step(`ninja -j${jobs} ${QEMU_TARGET} (about 2 min on 2 idle cores)`, 'build.log', 'ninja', [`-j${jobs}`, QEMU_TARGET], { cwd: dir, env });
  await build.step('strip', 'strip.log', `${CROSS_PREFIX}strip`, ['-o', join(out, QEMU_TARGET), join(dir, QEMU_TARGET)], { env: opts.toolchain.env });

  // The xenpvh machine's PCI INTx property, where this QEMU defines it (hw/xen, hw/arm).
  const pvh = await run('grep', ['-rlF', `"${XENPVH_PCI_PROPERTY}"`, 'hw'], { cwd: tree, allowFailure: true });
  return { xenpvhPci: pvh.exitCode === 0 && pvh.stdout.trim() !== '' };
}
