// A tiny writer for cpio "newc" archives, enough to add a few files to an initramfs.
// The kernel unpacks archives concatenated after the rig's ramdisk, later entries winning.

export interface CpioEntry {
  /** Path inside the archive, without a leading slash (e.g. root/.ssh/authorized_keys). */
  path: string;
  type: 'dir' | 'file';
  /** Permission bits, e.g. 0o600. */
  mode: number;
  data?: Buffer;
}

const S_IFDIR = 0o040000;
const S_IFREG = 0o100000;

function field(n: number): string {
  return n.toString(16).padStart(8, '0');
}

function pad4(length: number): Buffer {
  return Buffer.alloc((4 - (length % 4)) % 4);
}

function record(ino: number, mode: number, name: string, data: Buffer, nlink: number): Buffer {
  const nameBytes = Buffer.from(`${name}\0`, 'utf8');
  const header = Buffer.from(
    '070701' +
      [ino, mode, 0, 0, nlink, 0, data.length, 0, 0, 0, 0, nameBytes.length, 0].map(field).join(''),
    'ascii',
  );
  const head = Buffer.concat([header, nameBytes]);
  return Buffer.concat([head, pad4(head.length), data, pad4(data.length)]);
}

/** newc bytes for the entries, owned by root, mtime 0 (so the bytes depend on content only). */
export function newcArchive(entries: readonly CpioEntry[]): Buffer {
  const parts = entries.map((e, i) => {
    const mode = (e.type === 'dir' ? S_IFDIR : S_IFREG) | (e.mode & 0o7777);
    const data = e.type === 'file' ? (e.data ?? Buffer.alloc(0)) : Buffer.alloc(0);
    return record(i + 1, mode, e.path, data, e.type === 'dir' ? 2 : 1);
  });
  parts.push(record(0, 0, 'TRAILER!!!', Buffer.alloc(0), 1));
  return Buffer.concat(parts);
}

/** The archive that gives root an authorized_keys file (dropbear insists on strict modes). */
export function authorizedKeysArchive(publicKey: string): Buffer {
  return newcArchive([
    { path: 'root', type: 'dir', mode: 0o700 },
    { path: 'root/.ssh', type: 'dir', mode: 0o700 },
    { path: 'root/.ssh/authorized_keys', type: 'file', mode: 0o600, data: Buffer.from(publicKey.trim() + '\n') },
  ]);
}
