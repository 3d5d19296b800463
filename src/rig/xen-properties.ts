// What a Xen binary can do, read off the dom0less device-tree properties it parses. Xen
// reads a property by its name, a string literal in the code that parses it, so the name is
// in the binary exactly when this Xen knows the property. Version numbers say nothing here:
// the properties we rely on come from patches and forks (ours, the seed's) as often as from
// releases.
import type { Capability } from './manifest.js';

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
