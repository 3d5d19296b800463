// Where the direct path puts each boot module in guest RAM. Pure: from file sizes only.
import { ConfigError } from '../errors.js';

/** QEMU virt's RAM starts here. */
export const RAM_BASE = 0x4000_0000;
/** Above Xen's load address (0x40200000) and QEMU's own DTB (0x48000000), per docs/rig-facts.md, "Module placement". */
export const MODULE_BASE = 0x5000_0000;
/** Modules start on 2 MiB boundaries, which suits Xen's block mappings and Linux's Image. */
export const MODULE_ALIGN = 0x20_0000;

export type ModuleKind = 'kernel' | 'ramdisk' | 'dtb';

/** A file one domain boots: 'dom0' or a domU's name, and which of its modules it is. */
export interface ModuleFile {
  domain: string;
  kind: ModuleKind;
  /** Path of the file on the host. */
  file: string;
  size: number;
  /** Room kept for the file when it is not final yet (dom0's ramdisk grows by the key archive). */
  reserve?: number;
}

export interface ModulePlacement extends ModuleFile {
  addr: number;
}

export function alignUp(n: number, align: number): number {
  return Math.ceil(n / align) * align;
}

/** Lays the modules out one after another from MODULE_BASE; they must end inside RAM. */
export function placeModules(files: readonly ModuleFile[], machineMemoryMiB: number): ModulePlacement[] {
  const ramEnd = RAM_BASE + machineMemoryMiB * 1024 * 1024;
  let cursor = MODULE_BASE;
  const placements = files.map((f): ModulePlacement => {
    if (!Number.isInteger(f.size) || f.size <= 0) throw new ConfigError(`${f.domain} ${f.kind} ${f.file}: size ${f.size} is not usable`);
    const addr = cursor;
    cursor = alignUp(addr + Math.max(f.size, f.reserve ?? 0), MODULE_ALIGN);
    return { ...f, addr };
  });
  if (cursor > ramEnd) {
    const mib = Math.ceil((cursor - MODULE_BASE) / 1024 / 1024);
    throw new ConfigError(
      `the boot modules need ${mib} MiB from 0x${MODULE_BASE.toString(16)}, past the end of the machine's ${machineMemoryMiB} MiB of RAM`,
    );
  }
  return placements;
}
