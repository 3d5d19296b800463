// The outer qemu-system-aarch64 command line, as pure functions. The machine options come
// from one function so the DT dump and the boot can never disagree (docs/rig-facts.md, "Device tree dump").

export const QEMU_BINARY = 'qemu-system-aarch64';

export type Accel = 'tcg' | 'kvm';

/** What shapes the emulated board, and so the device tree QEMU generates for it. */
export interface MachineShape {
  memoryMiB: number;
  cpus: number;
  /** Firmware given with -bios (u-boot); changes the DT (GED instead of pl061). */
  bios?: string;
  accel: Accel;
}

/** A file QEMU's generic loader puts at a guest-physical address before the CPU starts. */
export interface LoaderBlob {
  file: string;
  addr: number;
}

/** How the guest is started: u-boot from a disk, or Xen straight from QEMU's loader. */
export type BootTarget =
  | { kind: 'uboot'; disks: string[] }
  | { kind: 'direct'; xenImage: string; dtb: string; blobs: LoaderBlob[] };

export interface BootArgsInput {
  shape: MachineShape;
  target: BootTarget;
  serialSocket: string;
  qmpSocket: string;
  /** Host port on 127.0.0.1 forwarded to the guest's port 22; must already be a real port. */
  sshPort: number;
}

/**
 * A value inside one of QEMU's `key=value,key=value` option strings. QEMU reads `,,` as a
 * literal comma and nothing else as special, so a path with a comma in it (the cache and logs
 * directories are the user's) would otherwise end the value and start an option of its own.
 */
export function optValue(value: string): string {
  return value.replaceAll(',', ',,');
}

export function hex(n: number): string {
  return `0x${n.toString(16)}`;
}

/** The options that decide the board: used verbatim by the DT dump and the boot. */
export function machineArgs(shape: MachineShape, dumpDtbPath?: string): string[] {
  // its=off: Xen 4.17 gives dom0 no ITS, so dom0's virtio-net found its host bridge's
  // msi-map unusable and warned twice at every boot (docs/rig-facts.md, "dom0's MSI warning").
  const machine = ['virt', 'gic-version=3', 'virtualization=true', 'its=off'];
  if (dumpDtbPath !== undefined) machine.push(`dumpdtb=${optValue(dumpDtbPath)}`);
  const args = [
    '-machine', machine.join(','),
    '-cpu', 'cortex-a57',
    '-m', `${shape.memoryMiB}M`,
    '-smp', String(shape.cpus),
    '-accel', shape.accel,
  ];
  if (shape.bios !== undefined) args.push('-bios', shape.bios);
  return args;
}

/** argv (without the binary) that makes QEMU write its generated DTB and exit. */
export function dumpDtbArgs(shape: MachineShape, dtbPath: string): string[] {
  // -nic none: QEMU's default NIC would want iPXE's efi-virtio.rom, a file only a Recommends
  // of qemu-system-arm ships; a PCI NIC has no node in the DT, so the dump is unchanged.
  return [...machineArgs(shape, dtbPath), '-nic', 'none', '-display', 'none', '-monitor', 'none', '-serial', 'none'];
}

/** argv (without the binary) for the boot itself. */
export function bootArgs(input: BootArgsInput): string[] {
  const { shape, target } = input;
  const args = [
    ...machineArgs(shape),
    '-no-reboot',
    '-display', 'none',
    '-monitor', 'none',
    // A plain socket chardev, not mon:stdio: a mux with the monitor takes CTRL-a as its own
    // escape, and Xen's CTRL-a ×3 focus switch would have to be doubled (docs/rig-facts.md, "Console").
    '-chardev', `socket,id=serial0,path=${optValue(input.serialSocket)},server=on,wait=on`,
    '-serial', 'chardev:serial0',
    '-chardev', `socket,id=qmp0,path=${optValue(input.qmpSocket)},server=on,wait=off`,
    '-mon', 'chardev=qmp0,mode=control',
    // restrict=on keeps the guests off the host's network; hostfwd still reaches dom0.
    '-netdev', `user,id=net0,restrict=on,hostfwd=tcp:127.0.0.1:${input.sshPort}-:22`,
    '-device', 'virtio-net-pci,netdev=net0,romfile=',
  ];
  if (target.kind === 'uboot') {
    target.disks.forEach((disk, i) => {
      args.push('-drive', `file=${optValue(disk)},format=raw,if=none,id=disk${i},readonly=on`);
      args.push('-device', `virtio-blk-pci,drive=disk${i}`);
    });
  } else {
    args.push('-kernel', target.xenImage, '-dtb', target.dtb);
    for (const blob of target.blobs) {
      args.push('-device', `loader,file=${optValue(blob.file)},addr=${hex(blob.addr)},force-raw=on`);
    }
  }
  return args;
}

/** A command line shown to people: one option per line, quoted only where needed. */
export function formatCommandLine(binary: string, args: readonly string[]): string {
  const quote = (a: string) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`);
  const lines: string[] = [binary];
  for (let i = 0; i < args.length; i++) {
    const a = args[i] as string;
    const next = args[i + 1];
    if (a.startsWith('-') && next !== undefined && !next.startsWith('-')) {
      lines.push(`${quote(a)} ${quote(next)}`);
      i++;
    } else {
      lines.push(quote(a));
    }
  }
  return lines.join(' \\\n  ');
}
