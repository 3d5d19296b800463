// pt.dts: the partial device tree Xen merges into a domU's own DT (the domU's third
// module, "multiboot,device-tree"). Pure text; media.ts compiles it with dtc.
//
// Xen copies the /passthrough subtree verbatim and takes the phandle of its generated guest
// GIC from the /gic node here. The phandle comes from a label, never a fixed 65000: Xen
// >= 4.22 reserves that range and refuses the domain (docs/rig-facts.md, "Partial DT phandles").
import { intxRoutes, type PciHostBridge } from './pci.js';

const GIC_SPI = 0;
const IRQ_TYPE_LEVEL_HIGH = 4;
/** phys.hi space codes: 32-bit memory, and 64-bit prefetchable memory. */
const PCI_SPACE_MEM32 = 0x0200_0000;
const PCI_SPACE_MEM64_PREFETCH = 0x4300_0000;
/** The dom0 QEMU is the backend: the grant-dma specifier is its domain id. */
const BACKEND_DOMID = 0;

const h = (n: number | bigint) => `0x${n.toString(16)}`;

/** A 64-bit value as two cells, high first. */
function cells(n: bigint): string {
  return `${h(n >> 32n)} ${h(n & 0xffff_ffffn)}`;
}

/** The node name's unit address: the ECAM base without leading zeros, as dtc expects. */
export function pcieNodeName(bridge: PciHostBridge): string {
  return `pcie@${bridge.ecam.base.toString(16)}`;
}

export function passthroughDts(bridge: PciHostBridge): string {
  const grants = bridge.mode === 'grants';
  const map = intxRoutes(bridge).map(
    (r) => `<${h(r.slot << 11)} 0x0 0x0 ${h(r.pin)} &gic ${h(GIC_SPI)} ${h(r.intid - 32)} ${h(IRQ_TYPE_LEVEL_HIGH)}>`,
  );
  const range = (space: number, w: PciHostBridge['mmio']) => `<${h(space)} ${cells(w.base)} ${cells(w.base)} ${cells(w.size)}>`;
  const p = '\t\t\t';
  const lines = [
    '/dts-v1/;',
    '',
    `// virtio-pci host bridge of ${bridge.domain.name} (${bridge.mode}); the backend QEMU in dom0 serves it.`,
    '/ {',
    '\t#address-cells = <2>;',
    '\t#size-cells = <2>;',
    '',
    "\t// Only the phandle counts: Xen's guest GIC takes it, so &gic below points there.",
    // Xen's guest GIC has no address cells and three interrupt cells; the map's rows depend on both.
    '\tgic: gic {',
    '\t\t#interrupt-cells = <3>;',
    '\t\t#address-cells = <0>;',
    '\t\tinterrupt-controller;',
    '\t};',
    '',
    '\tpassthrough {',
    '\t\tcompatible = "simple-bus";',
    '\t\tranges;',
    '\t\t#address-cells = <2>;',
    '\t\t#size-cells = <2>;',
    '',
  ];
  if (grants) {
    lines.push(
      '\t\tgrants: xen-grant-dma {',
      `${p}compatible = "xen,grant-dma";`,
      `${p}#iommu-cells = <1>;`,
      '\t\t};',
      '',
    );
  }
  lines.push(
    `\t\t${pcieNodeName(bridge)} {`,
    `${p}compatible = "pci-host-ecam-generic";`,
    `${p}device_type = "pci";`,
    `${p}reg = <${cells(bridge.ecam.base)} ${cells(bridge.ecam.size)}>;`,
    `${p}bus-range = <0x0 0xff>;`,
    `${p}linux,pci-domain = <1>;`,
    `${p}#address-cells = <3>;`,
    `${p}#size-cells = <2>;`,
    `${p}#interrupt-cells = <1>;`,
    `${p}interrupt-parent = <&gic>;`,
    // Two slot bits and the pin: QEMU's swizzle repeats every four slots.
    `${p}interrupt-map-mask = <0x1800 0x0 0x0 0x7>;`,
    `${p}interrupt-map = ${map.join(`,\n${p}\t`)};`,
    // QEMU maps both windows at the same bus and CPU addresses (its aliases keep the offset).
    `${p}ranges = ${range(PCI_SPACE_MEM32, bridge.mmio)},`,
    `${p}\t${range(PCI_SPACE_MEM64_PREFETCH, bridge.prefetch)};`,
    `${p}dma-coherent;`,
  );
  if (grants) {
    // The mask folds every requester ID onto 0, so each device maps to the backend's domid
    // rather than to its own requester ID.
    lines.push(`${p}iommu-map = <0x0 &grants ${h(BACKEND_DOMID)} 0x10000>;`, `${p}iommu-map-mask = <0x0>;`);
  }
  lines.push('\t\t};', '\t};', '};', '');
  return lines.join('\n');
}
