// What the pinned build toolchain is made of. Everything compiled for the guest (the
// hypervisor, Xen's tools, the backend QEMU) is built with these compilers against this
// sysroot, whatever the host runs: the host contributes only make, python and the like,
// which shape nothing in the output. Everything here feeds the toolchain's key.

/** Bump when the way the toolchain is assembled changes in a way the lists do not show. */
export const TOOLCHAIN_VERSION = 'toolchain-4';

/** Compilers and sysroot come from one Debian release: dom0's userland is bookworm's too. */
export const TOOLCHAIN_SUITE = 'bookworm';
export const TARGET_TRIPLET = 'aarch64-linux-gnu';
export const CROSS_PREFIX = `${TARGET_TRIPLET}-`;

/**
 * The compilers, as packages of the host's own architecture. On amd64 these are Debian's
 * cross compilers; on an arm64 host the same GCC is the native one, which names its
 * programs with the same triplet prefix.
 */
export const COMPILER_PACKAGES: Readonly<Record<string, readonly string[]>> = {
  amd64: ['gcc-12-aarch64-linux-gnu', 'binutils-aarch64-linux-gnu'],
  arm64: ['gcc-12', 'binutils-aarch64-linux-gnu'],
};

/**
 * The compilers' own C runtime, from the same release: every toolchain program runs on it
 * through its dynamic loader, never on the host's glibc. Bookworm's gcc-12 calls arc4random
 * (glibc 2.36), which Ubuntu 22.04 (2.35) lacks; this way the host's glibc does not matter.
 */
export const COMPILER_RUNTIME = /^(libc6|libgcc-s1|libstdc\+\+6)$/;

/**
 * Members of the compilers' dependency closure that are not unpacked with them: their C
 * runtime goes to its own folder (above); the target's C library comes from the sysroot
 * alone, so that no second copy of libc.so's absolute linker script shadows it.
 */
export const COMPILER_EXCLUDED =
  /^(libc6|libgcc-s1|libstdc\+\+6|gcc-12-base|libcrypt1|libunistring2|libidn2-0)$|^(libc6|libc6-dev|linux-libc-dev|libcrypt-dev)(-arm64-cross)?$|^(libc-dev-bin|rpcsvc-proto)$/;

/** The host architecture's dynamic loader, inside the unpacked libc6. */
export const HOST_LOADER: Readonly<Record<string, string>> = { amd64: 'lib64/ld-linux-x86-64.so.2', arm64: 'lib/ld-linux-aarch64.so.1' };

/**
 * Target (arm64) -dev packages the sysroot is made of; apt adds their closure. Both rig
 * providers share one sysroot: the backend QEMU needs glib, fdt, slirp, zlib and (for
 * Debian's Xen) libxen-dev; Xen's tools need yajl, ncurses, uuid and the compressors their
 * configure picks up when present, so they are always present.
 */
export const SYSROOT_PACKAGES = [
  'libc6-dev',
  'libglib2.0-dev',
  'libfdt-dev',
  'libslirp-dev',
  'libxen-dev',
  'zlib1g-dev',
  'libyajl-dev',
  'libncurses-dev',
  'uuid-dev',
  'libzstd-dev',
  'liblzma-dev',
  'libbz2-dev',
] as const;

/** Closure members a sysroot has no use for: interpreters and programs, never linked against. */
export const SYSROOT_EXCLUDED = /^(libpython|python3)|-bin$|^(dpkg|tar|media-types|readline-common|pkgconf|pkg-config|ncurses-bin|rpcsvc-proto)$/;

/** dpkg's name for the architecture Node runs on; only these two hosts are known. */
export function hostArch(nodeArch: string = process.arch): 'amd64' | 'arm64' | undefined {
  return nodeArch === 'x64' ? 'amd64' : nodeArch === 'arm64' ? 'arm64' : undefined;
}

/** Where Debian puts a host architecture's libraries (the compilers' private ones too). */
export const HOST_MULTIARCH: Readonly<Record<string, string>> = { amd64: 'x86_64-linux-gnu', arm64: 'aarch64-linux-gnu' };
