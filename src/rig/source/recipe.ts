// What the source rig is made of: Xen (hypervisor and tools) and QEMU built from the user's
// git refs, everything else (Linux, u-boot, busybox, dropbear, libraries) from Debian as in
// the debian rig. Everything here feeds a cache key.
import { OPTIONS } from '../../config/options.js';
import { PACKAGES } from '../debian/recipe.js';

/** Bump when the source rig's procedure changes in a way the data below does not show. */
export const SOURCE_RECIPE_VERSION = 'source-rig-3'; // 3: capabilities read off the Xen binary (dom0less-virtio-pci)
/** Bump when the Xen (hypervisor + tools) build procedure changes. */
export const SOURCE_XEN_BUILD_VERSION = 'source-xen-build-1';
/** Bump when the QEMU build procedure changes. */
export const SOURCE_QEMU_BUILD_VERSION = 'source-qemu-build-1';

export const SOURCE_XEN_COMPONENT = 'source-xen';
export const SOURCE_QEMU_COMPONENT = 'source-qemu';

/** Upstream master, from the options table, when a request names no repository or ref. */
export const DEFAULT_XEN_REPO = OPTIONS['xen-repo'].default;
export const DEFAULT_QEMU_REPO = OPTIONS['qemu-repo'].default;
export const DEFAULT_XEN_REF = OPTIONS['xen-ref'].default;
export const DEFAULT_QEMU_REF = OPTIONS['qemu-ref'].default;

/** Debian's packages minus its Xen: the hypervisor, the tools and their libraries are ours. */
const DEBIAN_XEN = /^(xen-hypervisor-|xen-utils-|xenstore-utils$|libxen)/;

/** Run-time libraries our Xen tools link against (configure's checks find their -dev packages). */
export const TOOLS_RUNTIME_PACKAGES = ['libyajl2', 'libuuid1', 'libncursesw6', 'libtinfo6', 'zlib1g', 'libzstd1', 'liblzma5', 'libbz2-1.0', 'libfdt1'] as const;

export const SOURCE_PACKAGES = [...PACKAGES.filter((p) => !DEBIAN_XEN.test(p)), ...TOOLS_RUNTIME_PACKAGES];

/** Where the tools' libraries (and .pc files) are installed, relative to the root. */
export const STAGE_LIBDIR = 'usr/lib/aarch64-linux-gnu';

/** autoconf's helper scripts (package autotools-dev), for trees that do not carry them. */
export const AUTOCONF_AUX = ['/usr/share/misc/config.guess', '/usr/share/misc/config.sub'] as const;

/**
 * The tools' configure options after --build/--host: as little as dom0less needs. The
 * device model is our QEMU at its dom0 path; no stubdoms, firmware, docs or bindings.
 */
export const XEN_TOOLS_CONFIGURE_FLAGS = [
  '--prefix=/usr',
  '--sysconfdir=/etc',
  '--localstatedir=/var',
  // The dom0 loader has no ld.so.cache: libraries go where it looks by default.
  `--libdir=/${STAGE_LIBDIR}`,
  '--disable-docs',
  '--disable-stubdom',
  '--disable-xen',
  '--disable-ocamltools',
  '--disable-golang',
  '--disable-seabios',
  '--disable-ovmf',
  '--disable-ipxe',
  '--disable-rombios',
  '--disable-qemu-traditional',
  '--disable-pvshim',
  '--disable-xsmpolicy',
  '--disable-pygrub',
  '--disable-systemd',
  '--disable-monitors',
  // A newer compiler's new warnings must not fail a test rig's build of an older tree.
  '--disable-werror',
  '--with-system-qemu=/usr/bin/qemu-system-aarch64',
] as const;

/**
 * tools/ subdirectories built and installed, when the tree has them (4.17 keeps the store in
 * xenstore/, later trees split it into xenstored/ and xs-clients/). Python bindings, pygrub
 * and the rest are skipped: cross-building them needs the target's Python.
 */
export const XEN_TOOLS_SUBDIRS = ['libs', 'xenstore', 'xenstored', 'xs-clients', 'console', 'helpers', 'xl'] as const;

/** The tools dom0 runs (rc starts them by name; they get /usr/sbin or /usr/bin links). */
export const DOM0_TOOLS = ['xl', 'xenstored', 'xenconsoled', 'xenconsole', 'xen-init-dom0', 'init-dom0less', 'xenstore'] as const;

/** The trees a source rig builds and reports as "build <label>" test cases, in build order (their recipes' labels). */
export const SOURCE_TREES_UNDER_TEST = ['xen', 'qemu'] as const;
