// What the debian rig is made of. Everything here feeds the cache key: change a list or a
// script and the next obtainRig() builds a new bundle instead of reusing an old one.
import { ETC_GROUP, ETC_PASSWD, ETC_SHELLS, INITTAB, RC_PATH, dom0Rc, domURc, profile } from './scripts.js';

/** Bump when the build procedure changes in a way the lists and scripts below do not show. */
export const RECIPE_VERSION = 'debian-rig-7'; // 7: capabilities read off the Xen binary (dom0less-virtio-pci)

export const SUITE = 'bookworm';
export const ARCH = 'arm64';
export const COMPONENTS = ['main'];

/** The Xen series: the hypervisor and its tools must match (4.20 tools fail on a 4.17 hypervisor). */
export const XEN_SERIES = '4.17';

/** Top-level packages; apt adds their dependency closure. */
export const PACKAGES = [
  `xen-hypervisor-${XEN_SERIES}-arm64`,
  `xen-utils-${XEN_SERIES}`,
  'xenstore-utils',
  'linux-image-arm64',
  'u-boot-qemu',
  'busybox-static',
  'dropbear-bin',
  'pciutils',
  'pci.ids',
  // The backend QEMU's run-time libraries (bookworm, the ABI it was linked against on the host).
  'libglib2.0-0',
  'libslirp0',
  'libfdt1',
  'zlib1g',
  'libxendevicemodel1',
  'libxenforeignmemory1',
  'libxengnttab1',
  'libxenevtchn1',
  'libxenstore4',
  'libxentoolcore1',
] as const;

/** Debian's kernel package: left out when the kernel is built from source. */
export const KERNEL_PACKAGE_NAME = 'linux-image-arm64';

/** Kernel modules each domain loads at boot (Debian's kernel); their dependencies are added from modinfo. */
export const DOM0_MODULES = [
  'xen-evtchn',
  'xen-gntdev',
  'xen-gntalloc',
  'xen-privcmd',
  'xenfs',
  'virtio_pci', // a module in Debian's 6.1 kernel: dom0's eth0 is the outer QEMU's virtio-net-pci
  'virtio_net',
  'virtio_blk',
] as const;
export const DOMU_MODULES = ['virtio_pci', 'virtio_net', 'virtio_blk'] as const;

export const XEN_BIN = `/usr/lib/xen-${XEN_SERIES}/bin`;

/** ELF programs copied into dom0 (with their libraries); each also gets a link in /usr/sbin. */
export const DOM0_XEN_PROGRAMS = ['xl', 'xenstored', 'xenconsoled', 'xen-init-dom0', 'init-dom0less', 'xenconsole'].map(
  (name) => `${XEN_BIN}/${name}`,
);
/** dom0's programs that are not Xen's: every rig's dom0 has them, whoever built its Xen. */
export const DOM0_BASE_PROGRAMS = ['/bin/busybox', '/usr/sbin/dropbear', '/usr/bin/dropbearkey'];
export const DOM0_PROGRAMS = [
  ...DOM0_BASE_PROGRAMS,
  '/usr/bin/xenstore',
  ...DOM0_XEN_PROGRAMS,
];
/** The xenstore-utils clients are hard links to one multi-call binary. */
export const XENSTORE_CLIENTS = ['read', 'write', 'ls', 'list', 'rm', 'exists', 'chmod', 'watch'].map((c) => `xenstore-${c}`);

export const DOMU_PROGRAMS = ['/bin/busybox', '/usr/bin/lspci', '/usr/bin/setpci'];
export const DOMU_DATA = ['/usr/share/misc/pci.ids'];

/** A ramdisk's own files (path → text), written by us rather than taken from a package. */
export interface RamdiskTexts {
  [path: string]: string;
}

/** dom0's files; a kernel built from source has everything built in and loads no modules. */
export function dom0Texts(modules: readonly string[] = DOM0_MODULES): RamdiskTexts {
  return {
    '/etc/inittab': INITTAB,
    [RC_PATH]: dom0Rc(modules, XEN_BIN),
    '/etc/profile': profile('dom0# ', XEN_BIN),
    '/etc/passwd': ETC_PASSWD,
    '/etc/group': ETC_GROUP,
    '/etc/shells': ETC_SHELLS,
    // xl reads its global config at every start and complains when it is missing.
    '/etc/xen/xl.conf': '# xen-pvh-virtio: defaults are fine for dom0less\n',
  };
}

export function domUTexts(modules: readonly string[] = DOMU_MODULES): RamdiskTexts {
  return {
    '/etc/inittab': INITTAB,
    [RC_PATH]: domURc(modules),
    '/etc/profile': profile('domU# '),
    '/etc/passwd': ETC_PASSWD,
    '/etc/group': ETC_GROUP,
  };
}

/** Where the backend QEMU lives in dom0. */
export const BACKEND_QEMU_PATH = '/usr/bin/qemu-system-aarch64';

/** Bump when the Xen build procedure changes in a way the data below does not show. */
// 2: the component also holds init-dom0less, built from the patched tree.
export const XEN_BUILD_VERSION = 'xen-build-2';

/** The hypervisor is rebuilt from the Debian source of the binary package the rig resolves. */
export const XEN_SOURCE = 'xen';
export const XEN_BINARY_PACKAGE = `xen-hypervisor-${XEN_SERIES}-arm64`;
export const XEN_DEBIAN_CONFIG = `/boot/xen-${XEN_SERIES}-arm64.config`;
/** Lines appended to Debian's config before olddefconfig: IOREQ on Arm is an EXPERT option. */
export const XEN_CONFIG_DELTA = ['CONFIG_EXPERT=y', 'CONFIG_IOREQ_SERVER=y'] as const;
export const XEN_MAKE_VARS = ['XEN_TARGET_ARCH=arm64', 'CROSS_COMPILE=aarch64-linux-gnu-'] as const;

/** Bump when the QEMU build procedure changes in a way the data below does not show. */
export const QEMU_BUILD_VERSION = 'qemu-build-1';

/** bookworm has no Xen-enabled arm64 QEMU and its meson is too old for 10.x: both come from trixie. */
export const QEMU_SUITE = 'trixie';
export const QEMU_SOURCE = 'qemu';
export const MESON_PACKAGE = 'meson';
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
