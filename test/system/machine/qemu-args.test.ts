import { execFileSync } from 'node:child_process';
import { mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { QEMU_BINARY, bootArgs, dumpDtbArgs, machineArgs, type MachineShape } from '../../../src/machine/qemu-args.js';

const shape: MachineShape = { memoryMiB: 2048, cpus: 2, bios: '/rig/u-boot.bin', accel: 'tcg' };
const io = { serialSocket: '/w/serial.sock', qmpSocket: '/w/qmp.sock', sshPort: 2222 };

describe('qemu-args', () => {
  it('uses the same machine options, -bios included, for the DT dump and the boot', () => {
    const dump = dumpDtbArgs(shape, '/w/virt.dtb');
    const boot = bootArgs({ shape, target: { kind: 'uboot', disks: ['/w/boot.img'] }, ...io });
    expect(dump.slice(0, machineArgs(shape).length)).toEqual([
      '-machine', 'virt,gic-version=3,virtualization=true,its=off,dumpdtb=/w/virt.dtb',
      ...machineArgs(shape).slice(2),
    ]);
    expect(boot.slice(0, machineArgs(shape).length)).toEqual(machineArgs(shape));
    expect(machineArgs(shape)).toEqual([
      '-machine', 'virt,gic-version=3,virtualization=true,its=off', '-cpu', 'cortex-a57', '-m', '2048M', '-smp', '2', '-accel', 'tcg',
      '-bios', '/rig/u-boot.bin',
    ]);
  });

  it('dumps the DT with no data file of QEMU: no default NIC asks for an option ROM', () => {
    const dir = mkdtempSync(join(tmpdir(), 'xpv-dump-'));
    const dtb = join(dir, 'virt.dtb');
    // -L at an empty folder hides every ROM and firmware file QEMU ships (ipxe's among them).
    execFileSync(QEMU_BINARY, [...dumpDtbArgs({ ...shape, bios: undefined }, dtb), '-L', dir], { stdio: 'pipe' });
    expect(statSync(dtb).size).toBeGreaterThan(1000);
    expect(dumpDtbArgs(shape, dtb)).toEqual(expect.arrayContaining(['-nic', 'none']));
  });

  it('puts the serial on a socket chardev, QMP on another, and forwards ssh on loopback only', () => {
    const boot = bootArgs({ shape, target: { kind: 'uboot', disks: ['/w/boot.img'] }, ...io });
    expect(boot).toContain('socket,id=serial0,path=/w/serial.sock,server=on,wait=on');
    expect(boot).toContain('chardev:serial0');
    expect(boot).toContain('chardev=qmp0,mode=control');
    expect(boot).toContain('user,id=net0,restrict=on,hostfwd=tcp:127.0.0.1:2222-:22');
    expect(boot).toContain('virtio-net-pci,netdev=net0,romfile=');
    expect(boot).toContain('virtio-blk-pci,drive=disk0');
    expect(boot.join(' ')).not.toMatch(/mon:stdio|-nographic/);
  });

  it('loads Xen, the DT and each module directly on the direct path', () => {
    const boot = bootArgs({
      shape: { ...shape, bios: undefined },
      target: { kind: 'direct', xenImage: '/rig/xen', dtb: '/w/xen.dtb', blobs: [{ file: '/rig/Image', addr: 0x50000000 }] },
      ...io,
    });
    expect(boot).not.toContain('-bios');
    expect(boot.join(' ')).toContain('-kernel /rig/xen -dtb /w/xen.dtb');
    expect(boot).toContain('loader,file=/rig/Image,addr=0x50000000,force-raw=on');
  });
});
