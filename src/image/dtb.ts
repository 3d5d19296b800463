// xen.dtb: QEMU's own DT for exactly this machine, decompiled, with our /chosen merged in.
import { readFile, rm, writeFile } from 'node:fs/promises';
import { run } from '../host/exec.js';
import { dumpDtbArgs, QEMU_BINARY, type MachineShape } from '../machine/qemu-args.js';
import { InfraError } from '../errors.js';

/** Runs QEMU with the boot's machine options plus dumpdtb= and returns the DTS text. */
export async function dumpMachineDts(shape: MachineShape, dtbPath: string, dtsPath: string): Promise<string> {
  await rm(dtbPath, { force: true });
  await run(QEMU_BINARY, dumpDtbArgs(shape, dtbPath));
  await run('dtc', ['-q', '-I', 'dtb', '-O', 'dts', '-o', dtsPath, dtbPath]);
  return readFile(dtsPath, 'utf8');
}

/** The stdout-path QEMU put in /chosen, which is the PL011 Xen must use. */
export function stdoutPathOf(dts: string): string | undefined {
  const chosen = /\bchosen\s*\{([^}]*)\}/.exec(dts)?.[1] ?? '';
  return /stdout-path\s*=\s*"([^"]+)"/.exec(chosen)?.[1];
}

/** The machine DTS with the fragment appended; dtc merges the second `/ { chosen … }`. */
export function mergeFragment(machineDts: string, fragment: string): string {
  return `${machineDts.trimEnd()}\n\n// Added by xen-pvh-virtio: the dom0less boot description.\n${fragment}`;
}

/**
 * Writes the source, then compiles it. The default padding leaves room for the nodes u-boot,
 * QEMU and Xen's EFI loader add to xen.dtb at boot; a pt.dtb is only read, so it needs none.
 */
export async function compileDts(dts: string, dtsPath: string, dtbPath: string, padding = 4096): Promise<void> {
  await writeFile(dtsPath, dts);
  const result = await run('dtc', ['-q', '-I', 'dts', '-O', 'dtb', '-p', String(padding), '-o', dtbPath, dtsPath], { allowFailure: true });
  if (result.exitCode !== 0) {
    throw new InfraError(`dtc could not compile ${dtsPath}:\n${result.stderr.trim()}`);
  }
}
