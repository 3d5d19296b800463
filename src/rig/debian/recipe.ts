// What the debian rig is made of. Everything here feeds the cache key: change a list or a
// script and the next obtainRig() builds a new bundle instead of reusing an old one.
import { ETC_GROUP, ETC_PASSWD, ETC_SHELLS, INITTAB, RC_PATH, dom0Rc, domURc, profile } from './scripts.js';

/** Bump when the build procedure changes in a way the lists and scripts below do not show. */
export const RECIPE_VERSION = 'debian-rig-4';

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
] as const;

/** Kernel modules each domain loads at boot; their dependencies are added from modinfo. */
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
export const DOM0_PROGRAMS = [
  '/bin/busybox',
  '/usr/sbin/dropbear',
  '/usr/bin/dropbearkey',
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

export function dom0Texts(): RamdiskTexts {
  return {
    '/etc/inittab': INITTAB,
    [RC_PATH]: dom0Rc(DOM0_MODULES, XEN_BIN),
    '/etc/profile': profile('dom0# ', XEN_BIN),
    '/etc/passwd': ETC_PASSWD,
    '/etc/group': ETC_GROUP,
    '/etc/shells': ETC_SHELLS,
    // xl reads its global config at every start and complains when it is missing.
    '/etc/xen/xl.conf': '# xen-pvh-virtio: defaults are fine for dom0less\n',
  };
}

export function domUTexts(): RamdiskTexts {
  return {
    '/etc/inittab': INITTAB,
    [RC_PATH]: domURc(DOMU_MODULES),
    '/etc/profile': profile('domU# '),
    '/etc/passwd': ETC_PASSWD,
    '/etc/group': ETC_GROUP,
  };
}
