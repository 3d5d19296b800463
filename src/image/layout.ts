// Checks the domain specs against the machine and resolves every size and command line
// the boot needs. Pure; a spec that cannot boot is a ConfigError naming the domain.
import { ConfigError } from '../errors.js';
import type { DomainSpec } from '../config/types.js';

export const DEFAULT_DOM0_MEMORY_MIB = 1024;
export const DEFAULT_MACHINE_CPUS = 2;
/** Room for Xen itself, its heap and the boot modules, beyond the domains' memory. */
export const XEN_HEADROOM_MIB = 256;
/** The smallest default machine: the flow was measured with 2 GiB (docs/rig-facts.md). */
const MIN_DEFAULT_MACHINE_MIB = 2048;

export const DOM0_CONSOLE_BOOTARGS = 'console=hvc0 earlycon=xenboot';
/** A domU with vpl011 talks through Xen's emulated PL011 (ttyAMA0); without it, hvc0. */
export const DOMU_VPL011_BOOTARGS = 'console=ttyAMA0';
export const DOMU_HVC_BOOTARGS = 'console=hvc0 earlycon=xenboot';

export interface LayoutOptions {
  machineMemoryMiB?: number;
  machineCpus?: number;
  dom0MemoryMiB?: number;
  /** Appended to dom0's console arguments. */
  dom0Bootargs?: string;
  /** Appended to Xen's own arguments. */
  xenBootargs?: string;
}

export interface DomULayout {
  name: string;
  domid: number;
  memoryMiB: number;
  cpus: number;
  vpl011: boolean;
  bootargs: string;
}

/** The resolved shape of the whole system: machine, Xen, dom0 and every domU. */
export interface DomainLayout {
  machine: { memoryMiB: number; cpus: number };
  xenBootargs: string;
  dom0: { memoryMiB: number; bootargs: string };
  domUs: DomULayout[];
}

const NODE_NAME = /^[A-Za-z][A-Za-z0-9,._+-]{0,30}$/;

export function resolveLayout(specs: readonly DomainSpec[], opts: LayoutOptions = {}): DomainLayout {
  const cpus = opts.machineCpus ?? DEFAULT_MACHINE_CPUS;
  positive('machine cpus', cpus);
  // A spec for dom0 (domid 0) sizes dom0; every other spec is a dom0less domU.
  const dom0Spec = specs.find((s) => s.domid === 0);
  const dom0MemoryMiB = dom0Spec?.memoryMiB ?? opts.dom0MemoryMiB ?? DEFAULT_DOM0_MEMORY_MIB;
  positive('dom0 memory (MiB)', dom0MemoryMiB);

  const domUSpecs = specs.filter((s) => s.domid !== 0).slice().sort((a, b) => a.domid - b.domid);
  const names = new Set<string>();
  const domUs = domUSpecs.map((spec, i): DomULayout => {
    const who = `domain ${spec.name}`;
    if (!NODE_NAME.test(spec.name)) {
      throw new ConfigError(`${who}: the name must be a device-tree node name (a letter, then up to 30 of A-Z a-z 0-9 , . _ + -)`);
    }
    if (spec.name === 'dom0' || names.has(spec.name)) throw new ConfigError(`${who}: the name is used twice`);
    names.add(spec.name);
    // Xen numbers dom0less domUs in DT order from 1, so the ids must be 1..n.
    if (spec.domid !== i + 1) {
      throw new ConfigError(`${who}: domid ${spec.domid} is not possible; dom0less domUs get ids 1..${domUSpecs.length} in order`);
    }
    positive(`${who}: memory (MiB)`, spec.memoryMiB);
    positive(`${who}: cpus`, spec.cpus);
    if (spec.cpus > cpus) throw new ConfigError(`${who}: cpus ${spec.cpus} is more than the machine's ${cpus}`);
    const consoleArgs = spec.vpl011 ? DOMU_VPL011_BOOTARGS : DOMU_HVC_BOOTARGS;
    return {
      name: spec.name,
      domid: spec.domid,
      memoryMiB: spec.memoryMiB,
      cpus: spec.cpus,
      vpl011: spec.vpl011,
      bootargs: spec.bootargs ?? consoleArgs,
    };
  });

  const needed = dom0MemoryMiB + domUs.reduce((sum, d) => sum + d.memoryMiB, 0) + XEN_HEADROOM_MIB;
  const memoryMiB = opts.machineMemoryMiB ?? Math.max(MIN_DEFAULT_MACHINE_MIB, Math.ceil(needed / 512) * 512);
  positive('machine memory (MiB)', memoryMiB);
  if (needed > memoryMiB) {
    const parts = [`dom0 ${dom0MemoryMiB}`, ...domUs.map((d) => `${d.name} ${d.memoryMiB}`), `Xen ${XEN_HEADROOM_MIB}`];
    throw new ConfigError(`the domains do not fit in the machine: ${parts.join(' + ')} = ${needed} MiB > ${memoryMiB} MiB`);
  }

  const xenBootargs = [`dom0_mem=${dom0MemoryMiB}M`, 'bootscrub=0', opts.xenBootargs].filter(Boolean).join(' ');
  const dom0Bootargs = dom0Spec?.bootargs ?? [DOM0_CONSOLE_BOOTARGS, opts.dom0Bootargs].filter(Boolean).join(' ');
  return { machine: { memoryMiB, cpus }, xenBootargs, dom0: { memoryMiB: dom0MemoryMiB, bootargs: dom0Bootargs }, domUs };
}

function positive(what: string, n: number): void {
  if (!Number.isInteger(n) || n <= 0) throw new ConfigError(`${what} must be a positive whole number, got ${n}`);
}
