// The u-boot path's boot disk, built without root or nbd: an ext4 filesystem made by
// `mke2fs -d` from a staged directory, placed after a one-partition DOS table from sfdisk.
import { copyFile, mkdir, open, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { run } from '../host/exec.js';
import { alignUp } from './placement.js';

export const SECTOR = 512;
/** The partition starts at 1 MiB, as fdisk and sfdisk default to. */
export const PARTITION_START_SECTOR = 2048;
const MIB = 1024 * 1024;
/** ext4's own metadata and journal, beyond the files' blocks. */
const FS_OVERHEAD_BYTES = 24 * MIB;

export interface DiskFile {
  /** Name in the partition's root directory. */
  name: string;
  /** Host path of the content. */
  source: string;
  size: number;
}

export interface DiskLayout {
  path: string;
  sizeBytes: number;
  partition: { index: 1; startSector: number; sizeBytes: number; fsType: 'ext4'; label: string; bootable: true };
  files: DiskFile[];
}

/** Sizes the disk for its files. Pure. */
export function planBootDisk(path: string, files: readonly DiskFile[], label = 'xenboot'): DiskLayout {
  const content = files.reduce((sum, f) => sum + alignUp(f.size, 4096), 0);
  const fsBytes = alignUp(Math.ceil(content * 1.05) + FS_OVERHEAD_BYTES, MIB);
  return {
    path,
    sizeBytes: PARTITION_START_SECTOR * SECTOR + fsBytes,
    partition: { index: 1, startSector: PARTITION_START_SECTOR, sizeBytes: fsBytes, fsType: 'ext4', label, bootable: true },
    files: [...files],
  };
}

/** The sfdisk script for the layout: one bootable Linux partition. */
export function sfdiskScript(layout: DiskLayout): string {
  const p = layout.partition;
  return `label: dos\nstart=${p.startSector}, size=${p.sizeBytes / SECTOR}, type=83, bootable\n`;
}

export async function buildBootDisk(layout: DiskLayout, scratchDir: string): Promise<void> {
  const stage = join(scratchDir, 'boot-fs');
  const fsImage = join(scratchDir, 'boot-fs.ext4');
  await rm(stage, { recursive: true, force: true });
  await mkdir(stage, { recursive: true });
  try {
    for (const f of layout.files) await copyFile(f.source, join(stage, f.name));
    await rm(fsImage, { force: true });
    await run('mke2fs', [
      '-q', '-F', '-t', 'ext4', '-L', layout.partition.label,
      '-E', 'root_owner=0:0', '-d', stage, fsImage, `${layout.partition.sizeBytes / 1024}k`,
    ]);
    await writeDisk(layout, fsImage);
    await run('sfdisk', ['--quiet', '--wipe', 'never', '--wipe-partitions', 'never', layout.path], {
      input: Buffer.from(sfdiskScript(layout)),
    });
  } finally {
    await rm(stage, { recursive: true, force: true });
    await rm(fsImage, { force: true });
  }
}

/** Writes zeros up to the partition, then the filesystem image at its byte offset. */
async function writeDisk(layout: DiskLayout, fsImage: string): Promise<void> {
  await rm(layout.path, { force: true });
  const disk = await open(layout.path, 'w');
  const fsFile = await open(fsImage, 'r');
  try {
    await disk.truncate(layout.sizeBytes);
    const chunk = Buffer.alloc(4 * MIB);
    let offset = 0;
    for (;;) {
      const { bytesRead } = await fsFile.read(chunk, 0, chunk.length, offset);
      if (bytesRead === 0) break;
      await disk.write(chunk, 0, bytesRead, layout.partition.startSector * SECTOR + offset);
      offset += bytesRead;
    }
  } finally {
    await fsFile.close();
    await disk.close();
  }
}
