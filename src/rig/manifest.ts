// The rig bundle's manifest: the plain data every provider hands to image/ and scenario/.
// A bundle is a directory holding the files listed here plus manifest.json.

export const MANIFEST_SCHEMA_VERSION = 1;
export const MANIFEST_FILE = 'manifest.json';
/** The most a manifest may weigh. Real ones are a few KiB; this bounds what is read into memory. */
export const MANIFEST_MAX_BYTES = 1024 * 1024;

/**
 * Whether a manifest may name this path for a file: relative, in segments of letters, digits
 * and ._+- that are not . or .. — a path that reads the same as a file path and as a URL path,
 * so neither a directory nor a URL (percent-decoded or not) can take it out of its bundle.
 */
export function isPlainBundlePath(path: unknown): path is string {
  return typeof path === 'string' && /^[A-Za-z0-9._+-]+(\/[A-Za-z0-9._+-]+)*$/.test(path) && !path.split('/').some((s) => s === '.' || s === '..');
}

/** What a file in the bundle is for. image/ and machine/ look files up by role, never by name. */
export const FILE_ROLES = [
  'xen-efi', // Xen as a PE/EFI binary, for u-boot's bootefi
  'xen-image', // Xen as a plain arm64 Image, for QEMU -kernel (often the same bytes as xen-efi)
  'xen-config', // the hypervisor's .config, so capabilities can be read off it
  'kernel', // Linux arm64 Image (may be gzip-compressed; Xen decompresses it)
  'dom0-ramdisk', // dom0's root filesystem as a (compressed) cpio archive
  'domU-ramdisk', // a domU's root filesystem as a (compressed) cpio archive
  'dom0-rootfs', // dom0's root filesystem as an ext4 image, for rigs whose dom0 boots from disk
  'uboot', // u-boot for QEMU's virt machine (qemu_arm64 u-boot.bin)
  'backend-qemu', // qemu-system-aarch64 built with --enable-xen, installed inside dom0
] as const;
export type FileRole = (typeof FILE_ROLES)[number];

/** What a rig can do. Scenarios name these in `requires`; a missing one skips the scenario. */
export const CAPABILITIES = [
  'dom0less', // Xen boots dom0 and domUs from the device tree
  'vpl011', // domUs get an emulated PL011 UART through Xen's console
  'xen-tools', // xl, xenstored, xenconsoled, init-dom0less in dom0
  'ssh', // dom0 runs an SSH server reachable through the outer QEMU's port forward
  'ioreq', // the hypervisor has CONFIG_IOREQ_SERVER (device models in dom0 can serve domUs)
  'trap-unmapped-accesses', // the dom0less property of that name is honoured
  'dom0less-virtio-pci', // the dom0less `virtio-pci` property: Xen writes the domU's virtio-pci host bridge itself
  'qemu-xenpvh-pci', // dom0 has a QEMU whose xenpvh machine offers virtio-pci
  'virtio-grants', // the domU kernel has CONFIG_XEN_VIRTIO (grant-based virtio)
] as const;
export type Capability = (typeof CAPABILITIES)[number];

export interface FileOrigin {
  /** Debian package name and version, when the file came from a .deb. */
  package?: string;
  version?: string;
  /** Git repository and commit, when the file was built from source. */
  repo?: string;
  commit?: string;
  /** Free text: how the file was produced when it was assembled by us. */
  built?: string;
  /** Patches applied to the source before building, in order (ours first, then the user's). */
  patches?: { file: string; from: 'ours' | 'user'; sha256: string }[];
}

export interface RigFile {
  role: FileRole;
  /** Relative to the bundle directory. */
  path: string;
  sha256: string;
  size: number;
  origin: FileOrigin;
}

export interface RigManifest {
  schemaVersion: typeof MANIFEST_SCHEMA_VERSION;
  provider: 'debian' | 'source' | 'yocto' | 'prebuilt';
  /** Content address: the hash of the provider's recipe. */
  key: string;
  createdAt: string;
  versions: { xen?: string; linux?: string; qemu?: string; uboot?: string; [component: string]: string | undefined };
  files: RigFile[];
  capabilities: Capability[];
  /** Things a user should know about this rig (e.g. sources predating security updates). */
  notes: string[];
}

/** A rig on disk, ready for image/. */
export interface Rig {
  dir: string;
  manifest: RigManifest;
}
