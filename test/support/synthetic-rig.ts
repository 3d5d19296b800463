// A small rig bundle made on the spot for the image tests: real formats (gzip'd newc
// ramdisks, the host's u-boot for the DT dump), stand-in bytes for Xen and the kernel.
import { createHash } from 'node:crypto';
import { copyFile, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { newcArchive } from '../../src/image/cpio.js';
import type { FileRole, Rig, RigFile } from '../../src/rig/manifest.js';

export const HOST_UBOOT = '/usr/lib/u-boot/qemu_arm64/u-boot.bin';

function ramdisk(who: string): Buffer {
  return gzipSync(
    newcArchive([
      { path: 'init', type: 'file', mode: 0o755, data: Buffer.from(`#!/bin/sh\necho ${who}\n`) },
      { path: 'root', type: 'dir', mode: 0o700 },
    ]),
  );
}

export async function syntheticRig(): Promise<Rig> {
  const dir = await mkdtemp(join(tmpdir(), 'xpv-rig-'));
  const contents: Array<[FileRole, string, Buffer]> = [
    ['xen-efi', 'xen.efi', Buffer.alloc(900 * 1024, 0x58)],
    ['xen-image', 'xen', Buffer.alloc(900 * 1024, 0x58)],
    // Bigger than the 2 MiB module alignment, so placements must skip whole slots.
    ['kernel', 'Image', Buffer.alloc(5 * 1024 * 1024 + 123, 0x4b)],
    ['dom0-ramdisk', 'dom0.cpio.gz', ramdisk('dom0')],
    ['domU-ramdisk', 'domU.cpio.gz', ramdisk('domU')],
  ];
  const files: RigFile[] = [];
  for (const [role, path, data] of contents) {
    await writeFile(join(dir, path), data);
    files.push({ role, path, size: data.length, sha256: createHash('sha256').update(data).digest('hex'), origin: { built: 'test' } });
  }
  await copyFile(HOST_UBOOT, join(dir, 'u-boot.bin'));
  files.push({ role: 'uboot', path: 'u-boot.bin', size: 0, sha256: '', origin: { package: 'u-boot-qemu' } });
  return {
    dir,
    manifest: {
      schemaVersion: 1,
      provider: 'prebuilt',
      key: 'synthetic',
      createdAt: new Date(0).toISOString(),
      versions: {},
      files,
      capabilities: ['dom0less', 'vpl011'],
      notes: [],
    },
  };
}

export const TWO_DOMUS = [
  { name: 'domU1', domid: 1, memoryMiB: 256, cpus: 1, vpl011: true },
  { name: 'domU2', domid: 2, memoryMiB: 384, cpus: 2, vpl011: false, bootargs: 'console=hvc0 quiet' },
];
