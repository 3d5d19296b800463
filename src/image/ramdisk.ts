// dom0's ramdisk for this run: the rig's archive with our small archive appended.
import { copyFile, appendFile, stat } from 'node:fs/promises';
import { gzipSync } from 'node:zlib';

/** Upper bound of what appending the key archive adds, so placements can be planned first. */
export const APPENDED_ARCHIVE_RESERVE = 64 * 1024;

/**
 * Copies the rig's ramdisk and appends `archive` gzip-compressed. Zero bytes first pad the
 * original to a 4-byte boundary: the kernel's unpacker skips zeros between archives.
 */
export async function appendArchive(source: string, dest: string, archive: Buffer): Promise<number> {
  await copyFile(source, dest);
  const { size } = await stat(dest);
  const padding = Buffer.alloc((4 - (size % 4)) % 4);
  await appendFile(dest, Buffer.concat([padding, gzipSync(archive, { level: 9 })]));
  return (await stat(dest)).size;
}
