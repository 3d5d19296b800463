// What the debian rig is made of. Everything here feeds the cache key: change a list or a
// script and the next obtainRig() builds a new bundle instead of reusing an old one. (The
// Xen and QEMU build options every provider shares are in build/xen.ts and build/qemu.ts.)
import type { KernelChoice } from '../../config/types.js';
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

/** The package list for a kernel choice: Debian's kernel package only when it is the kernel. */
export function withKernel(packages: readonly string[], kernel: KernelChoice | undefined): string[] {
  return kernel === 'source' ? packages.filter((p) => p !== KERNEL_PACKAGE_NAME) : [...packages];
}

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

/** Bump when the QEMU build procedure changes in a way the data below does not show. */
export const QEMU_BUILD_VERSION = 'qemu-build-1';

/** bookworm has no Xen-enabled arm64 QEMU and its meson is too old for 10.x: both come from trixie. */
export const QEMU_SUITE = 'trixie';
export const QEMU_SOURCE = 'qemu';
export const MESON_PACKAGE = 'meson';
