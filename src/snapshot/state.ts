// What a saved booted system is, as plain data: the one module both the cache (booted.ts)
// and the evidence it carries (evidence.ts) build on.
import type { SeenWarning } from '../console/warnings.js';
import type { BootArgsInput } from '../machine/qemu-args.js';

export interface BootedState {
  dir: string;
  stateFile: string;
  /** The saved machine's command-line input; its file paths exist (in dir or in the rig). */
  machineInput: BootArgsInput;
  /** The run key whose public half dom0's authorized_keys holds (dom0 lives in RAM). */
  privateKeyPath: string;
  /** The domains that were at their shells when the state was saved. */
  domains: string[];
  savedAt: string;
  bytes: number;
  /** Kernel and Xen warnings of the boot, up to the save. */
  warnings?: SeenWarning[];
  /** Set for cached entries. */
  key?: string;
}

/** The files a machine input names (firmware, disks, Xen, DTB, loader blobs). */
export function filesOf(input: BootArgsInput): string[] {
  const t = input.target;
  const files = t.kind === 'uboot' ? [...t.disks] : [t.xenImage, t.dtb, ...t.blobs.map((b) => b.file)];
  if (input.shape.bios !== undefined) files.push(input.shape.bios);
  return files;
}
