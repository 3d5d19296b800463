// What a rig can do, derived here and nowhere else, for every provider: read off the files that
// do it (the hypervisor binary and its .config, the kernel's .config, what dom0 holds, the
// backend QEMU), never off version numbers. Providers gather the evidence; this module alone
// says which capability each piece proves.
import { CAPABILITIES, type Capability } from './manifest.js';

// Xen reads a dom0less property by its name, a string literal in the code that parses it, so
// the name is in the binary exactly when this Xen knows the property. Version numbers say
// nothing here: the properties we rely on come from patches and forks (ours, the seed's) as
// often as from releases.

/** The property name that proves a capability, and why that name. */
export const XEN_PROPERTY_CAPABILITIES: readonly { property: string; capability: Capability }[] = [
  { property: 'xen,domain', capability: 'dom0less' },
  { property: 'vpl011', capability: 'vpl011' },
  { property: 'trap-unmapped-accesses', capability: 'trap-unmapped-accesses' },
  // `virtio-pci` alone is a prefix of other strings (and of this one); its companion
  // `virtio-pci-ranges` is parsed only by the code that writes the domU's host bridge.
  { property: 'virtio-pci-ranges', capability: 'dom0less-virtio-pci' },
];

export function xenParses(xen: Buffer, property: string): boolean {
  return xen.includes(Buffer.from(property, 'latin1'));
}

/** The capabilities a Xen binary (the uncompressed hypervisor image) shows by the properties it parses. */
export function xenPropertyCapabilities(xen: Buffer): Capability[] {
  return XEN_PROPERTY_CAPABILITIES.filter((p) => xenParses(xen, p.property)).map((p) => p.capability);
}

/**
 * The xenpvh machine's PCI INTx property: a QEMU that defines it offers virtio-pci on xenpvh.
 * Found in the source when we build QEMU (build/qemu.ts), in the binary when we only have that.
 */
export const XENPVH_PCI_PROPERTY = 'pci-intx-irq-base';

/** What a rig's capabilities are read off. */
export interface CapabilityEvidence {
  /** The uncompressed hypervisor image. */
  xen: Buffer;
  /** The hypervisor's .config, when the rig has one (without it, no ioreq is claimed). */
  xenConfig?: string;
  /** The kernel's .config, when the rig has one; otherwise the kernel Image itself is searched. */
  kernelConfig?: string;
  kernel?: Buffer;
  /** What dom0 runs: Xen's tools (xl and a xenstored) and an SSH server. */
  dom0: { xenTools: boolean; ssh: boolean };
  /** The backend QEMU in dom0 defines XENPVH_PCI_PROPERTY (false when there is none). */
  qemuXenpvhPci: boolean;
}

export function configHas(config: string | undefined, option: string): boolean {
  return config !== undefined && new RegExp(`^${option}=y$`, 'm').test(config);
}

export function binaryNames(bytes: Buffer | undefined, text: string): boolean {
  return bytes !== undefined && bytes.includes(Buffer.from(text, 'latin1'));
}

/** dom0's Xen tools and SSH server, from the paths in its root filesystem (no leading slash). */
export function dom0Evidence(paths: ReadonlySet<string>): CapabilityEvidence['dom0'] {
  const has = (...p: string[]) => p.some((x) => paths.has(x));
  return { xenTools: has('usr/sbin/xl') && has('usr/sbin/xenstored', 'usr/sbin/oxenstored'), ssh: has('usr/sbin/dropbear', 'usr/sbin/sshd') };
}

/** Only what this rig can honestly do, in the order manifest.ts lists capabilities. */
export function rigCapabilities(e: CapabilityEvidence): Capability[] {
  const parsed = new Set(xenPropertyCapabilities(e.xen));
  // One rule per capability: a capability added to manifest.ts does not compile until it has one.
  const proven: Record<Capability, boolean> = {
    dom0less: parsed.has('dom0less'),
    vpl011: parsed.has('vpl011'),
    'xen-tools': e.dom0.xenTools,
    ssh: e.dom0.ssh,
    ioreq: configHas(e.xenConfig, 'CONFIG_IOREQ_SERVER'),
    'trap-unmapped-accesses': parsed.has('trap-unmapped-accesses'),
    'dom0less-virtio-pci': parsed.has('dom0less-virtio-pci'),
    'qemu-xenpvh-pci': e.qemuXenpvhPci,
    // A kernel with grant-based virtio has the grant-dma DT binding's name in it.
    'virtio-grants': e.kernelConfig ? configHas(e.kernelConfig, 'CONFIG_XEN_VIRTIO') : binaryNames(e.kernel, 'xen,grant-dma'),
  };
  return CAPABILITIES.filter((c) => proven[c]);
}
