// The dom0less /chosen fragment added to the machine's own device tree. Pure text, so
// `xen-pvh-virtio plan` can print exactly what is added.
import { xenVirtioPciLines, type XenVirtioPciProperty } from './host-bridge.js';
import type { DomainLayout } from './layout.js';

/**
 * How Xen finds a module: by file name on the boot filesystem (Xen's EFI loader reads it,
 * the u-boot path), or by guest-physical address and size (QEMU's loader put it there).
 */
export type ModuleRef = { style: 'uefi'; file: string } | { style: 'reg'; addr: number; size: number };

export interface DomainModules {
  kernel: ModuleRef;
  ramdisk?: ModuleRef;
  /** A domU's partial device tree (pt.dtb), e.g. its virtio-pci host bridge. */
  dtb?: ModuleRef;
}

export interface ChosenInput {
  layout: DomainLayout;
  /** Keyed by 'dom0' and by each domU's name. */
  modules: Readonly<Record<string, DomainModules>>;
  /** The DT path of the PL011 Xen writes to. */
  stdoutPath: string;
  /**
   * The rig's Xen honours `trap-unmapped-accesses`: a domU with a pt.dtb then gets
   * `trap-unmapped-accesses = <0>`, so probing the ECAM before any backend serves it reads
   * all ones instead of taking a data abort (docs/rig-facts.md, "The boot race").
   */
  trapUnmapped?: boolean;
  /** Domains whose host bridge Xen writes (dom0less virtio-pci property), by name. */
  xenVirtioPci?: Readonly<Record<string, XenVirtioPciProperty>>;
}

export const DEFAULT_STDOUT_PATH = '/pl011@9000000';

const hex = (n: number) => `0x${n.toString(16)}`;

/** Two 32-bit cells of a 64-bit value, as dtc writes them. */
function cells64(n: number): string {
  return `${hex(Math.floor(n / 2 ** 32))} ${hex(n % 2 ** 32)}`;
}

function str(s: string): string {
  return `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

/** Xen's compatible string for each kind of module. */
const MULTIBOOT_KIND = { kernel: 'kernel', ramdisk: 'ramdisk', dtb: 'device-tree' } as const;

function moduleNode(kind: keyof typeof MULTIBOOT_KIND, ref: ModuleRef, indent: string, bootargs?: string): string[] {
  const name = ref.style === 'reg' ? `module@${ref.addr.toString(16)}` : `module-${MULTIBOOT_KIND[kind]}`;
  const lines = [`${indent}${name} {`, `${indent}\tcompatible = "multiboot,${MULTIBOOT_KIND[kind]}", "multiboot,module";`];
  if (ref.style === 'reg') lines.push(`${indent}\treg = <${cells64(ref.addr)} ${cells64(ref.size)}>;`);
  else lines.push(`${indent}\txen,uefi-binary = ${str(ref.file)};`);
  if (bootargs !== undefined) lines.push(`${indent}\tbootargs = ${str(bootargs)};`);
  lines.push(`${indent}};`);
  return lines;
}

/** A DTS fragment; appended to the decompiled machine DT, dtc merges it into /chosen. */
export function chosenFragment(input: ChosenInput): string {
  const { layout, modules } = input;
  const dom0 = modules['dom0'];
  if (!dom0) throw new Error('chosenFragment: no modules for dom0');
  const t = '\t\t';
  const lines = [
    '/ {',
    '\tchosen {',
    `${t}#address-cells = <0x2>;`,
    `${t}#size-cells = <0x2>;`,
    `${t}stdout-path = ${str(input.stdoutPath)};`,
    `${t}xen,xen-bootargs = ${str(layout.xenBootargs)};`,
    `${t}xen,dom0-bootargs = ${str(layout.dom0.bootargs)};`,
    ...moduleNode('kernel', dom0.kernel, t),
    ...(dom0.ramdisk ? moduleNode('ramdisk', dom0.ramdisk, t) : []),
  ];
  for (const d of layout.domUs) {
    const m = modules[d.name];
    if (!m) throw new Error(`chosenFragment: no modules for ${d.name}`);
    const u = `${t}\t`;
    lines.push(
      '',
      `${t}${d.name} {`,
      `${u}compatible = "xen,domain";`,
      `${u}#address-cells = <0x2>;`,
      `${u}#size-cells = <0x2>;`,
      `${u}memory = <${cells64(d.memoryMiB * 1024)}>;`,
      `${u}cpus = <${d.cpus}>;`,
      ...(d.vpl011 ? [`${u}vpl011;`] : []),
      // Xenstore and grant tables for the domU: without them init-dom0less registers no
      // name (xl shows "(null)") and a device model in dom0 cannot find the domain.
      `${u}xen,enhanced = "enabled";`,
      ...(m.dtb && input.trapUnmapped ? [`${u}trap-unmapped-accesses = <0>;`] : []),
      ...(input.xenVirtioPci?.[d.name] ? xenVirtioPciLines(input.xenVirtioPci[d.name]!, u) : []),
      ...moduleNode('kernel', m.kernel, u, d.bootargs),
      ...(m.ramdisk ? moduleNode('ramdisk', m.ramdisk, u) : []),
      ...(m.dtb ? moduleNode('dtb', m.dtb, u) : []),
      `${t}};`,
    );
  }
  lines.push('\t};', '};', '');
  return lines.join('\n');
}
