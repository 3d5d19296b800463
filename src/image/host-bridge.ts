// Who writes a domU's virtio-pci host bridge into its device tree. Pure.
//
// Two mechanisms exist, and a rig's Xen may offer either, both or neither:
// - xen: Xen's dom0less `virtio-pci` property (the seed's Xen, docs/virtio-pci-host-bridge.md).
//   Xen writes the pcie node itself, with its own fixed sizes and interrupts, and answers
//   ECAM reads with all ones until a device model serves them.
// - passthrough: our partial device tree (passthrough-dts.ts) as the domain's third module,
//   safe only where Xen honours `trap-unmapped-accesses = <0>` (else the domU takes a data
//   abort probing the ECAM before the backend is up).
// Either way the backend QEMU's arguments come from the same PciHostBridge, so the checks
// below make sure the bridge is exactly what Xen would write before choosing `xen`.
import type { VirtioPciNode } from '../config/types.js';
import { ConfigError } from '../errors.js';
import type { Capability, Rig } from '../rig/manifest.js';
import { DEFAULT_PCI_WINDOWS, formatWindow, hex64, type PciHostBridge, type PciWindowName } from './pci.js';

/**
 * The bridge a Xen with the dom0less `virtio-pci` property writes when no
 * `virtio-pci-ranges` moves it: the GUEST_VIRTIO_PCI_* constants of its
 * public/arch-arm.h (the same in every branch that has the property). They are our default
 * windows too, so a scenario that names none gets Xen's own node on such a Xen.
 * `virtio-pci-ranges` moves the three bases; nothing changes the sizes or the interrupts
 * (GUEST_VIRTIO_PCI_SPI_FIRST).
 */
export const XEN_VIRTIO_PCI_LAYOUT = DEFAULT_PCI_WINDOWS;

/** The property's values: `virtio-pci = "enabled"` serves foreign mappings, `"grants"` adds the grant-DMA IOMMU node. */
const PROPERTY_VALUE = { foreign: 'enabled', grants: 'grants' } as const;

/** What Xen is told to write: the dom0less properties of the domain's node. */
export interface XenVirtioPciProperty {
  value: (typeof PROPERTY_VALUE)[keyof typeof PROPERTY_VALUE];
  /** ECAM, memory and prefetchable-memory bases; absent when they are Xen's defaults. */
  ranges?: [bigint, bigint, bigint];
}

export interface HostBridgeChoice {
  node: VirtioPciNode;
  /** One sentence for `plan` and the logs. */
  why: string;
  /** node xen: the properties to write. */
  property?: XenVirtioPciProperty;
}

/** Why Xen's own node could not be this bridge; empty when it can. */
export function xenLayoutMismatches(bridge: PciHostBridge): string[] {
  const out: string[] = [];
  const names: PciWindowName[] = ['ecam', 'mmio', 'prefetch'];
  for (const name of names) {
    const want = XEN_VIRTIO_PCI_LAYOUT[name].size;
    if (bridge[name].size !== want) out.push(`${name} size ${hex64(bridge[name].size)} is not Xen's fixed ${hex64(want)}`);
  }
  if (bridge.intxIrqBase !== XEN_VIRTIO_PCI_LAYOUT.intxIrqBase) {
    out.push(`intx-irq-base ${bridge.intxIrqBase} is not Xen's fixed ${XEN_VIRTIO_PCI_LAYOUT.intxIrqBase}`);
  }
  return out;
}

export function xenVirtioPciProperty(bridge: PciHostBridge): XenVirtioPciProperty {
  const value = PROPERTY_VALUE[bridge.mode];
  const moved = (['ecam', 'mmio', 'prefetch'] as const).some((n) => bridge[n].base !== XEN_VIRTIO_PCI_LAYOUT[n].base);
  return moved ? { value, ranges: [bridge.ecam.base, bridge.mmio.base, bridge.prefetch.base] } : { value };
}

/** The lines for the domain's node in /chosen, as the seed writes them. */
export function xenVirtioPciLines(p: XenVirtioPciProperty, indent: string): string[] {
  const lines = [`${indent}virtio-pci = "${p.value}";`];
  if (p.ranges) {
    const cells = p.ranges.map((b) => `${hex64(b >> 32n)} ${hex64(b & 0xffff_ffffn)}`).join(' ');
    lines.push(`${indent}virtio-pci-ranges = <${cells}>;`);
  }
  return lines;
}

const XEN = 'dom0less-virtio-pci';
const TRAP = 'trap-unmapped-accesses';

/**
 * The mechanism for one bridge. With no request, Xen's own node when the rig's Xen parses the
 * property and the bridge is its layout (what the seed does), else our partial DT when the
 * rig's Xen honours trap-unmapped-accesses. A request the rig cannot honour is an error.
 */
export function chooseHostBridge(bridge: PciHostBridge, requested: VirtioPciNode | undefined, rig: Pick<Rig, 'dir' | 'manifest'>): HostBridgeChoice {
  const caps: readonly Capability[] = rig.manifest.capabilities;
  const name = bridge.domain.name;
  const rigName = `the ${rig.manifest.provider} rig in ${rig.dir}`;
  const hasXen = caps.includes(XEN);
  const hasTrap = caps.includes(TRAP);
  const mismatches = xenLayoutMismatches(bridge);
  const xenChoice = (why: string): HostBridgeChoice => ({ node: 'xen', why, property: xenVirtioPciProperty(bridge) });
  const passthroughChoice = (why: string): HostBridgeChoice => ({ node: 'passthrough', why });

  if (requested === 'xen') {
    if (!hasXen) throw new ConfigError(`domain ${name}: virtio-pci node: xen needs a Xen that parses the dom0less virtio-pci property, which ${rigName} lacks`);
    if (mismatches.length) throw new ConfigError(`domain ${name}: virtio-pci node: xen cannot describe this bridge: ${mismatches.join('; ')}`);
    return xenChoice('asked for by the scenario (node: xen)');
  }
  if (requested === 'passthrough') {
    if (!hasTrap) {
      throw new ConfigError(
        `domain ${name}: virtio-pci node: passthrough needs a Xen that honours ${TRAP}, which ${rigName} lacks: the domU would take a data abort probing the ECAM at boot`,
      );
    }
    return passthroughChoice('asked for by the scenario (node: passthrough)');
  }
  if (hasXen && mismatches.length === 0) {
    return xenChoice("the rig's Xen parses the dom0less virtio-pci property and the bridge is its layout, so Xen writes the node (as the seed does)");
  }
  if (hasTrap) {
    return passthroughChoice(
      hasXen
        ? `the rig's Xen parses the dom0less virtio-pci property, but ${mismatches.join('; ')}; its ${TRAP} lets our partial DT describe the bridge instead`
        : `the rig's Xen honours ${TRAP} (and has no dom0less virtio-pci property), so our partial DT describes the bridge`,
    );
  }
  if (hasXen) {
    throw new ConfigError(
      `domain ${name}: virtio-pci: the Xen of ${rigName} writes the host bridge itself, with its fixed layout, but ${mismatches.join('; ')} ` +
        `(and it lacks ${TRAP}, which a partial DT would need); use Xen's layout ${describeLayout()}`,
    );
  }
  throw new ConfigError(
    `domain ${name}: virtio-pci needs a Xen that parses the dom0less virtio-pci property or honours ${TRAP}; ${rigName} has neither: the domU would take a data abort probing the ECAM at boot`,
  );
}

export function describeLayout(): string {
  const l = XEN_VIRTIO_PCI_LAYOUT;
  return `(ecam ${formatWindow(l.ecam)}, mmio ${formatWindow(l.mmio)}, prefetch ${formatWindow(l.prefetch)}, intx-irq-base ${l.intxIrqBase})`;
}
