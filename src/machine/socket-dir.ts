// Where a machine's Unix sockets (serial, QMP, migration) go.
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Unix socket paths are limited to 108 bytes; a deep work dir gets a short socket dir instead. */
export async function socketDirFor(workDir: string): Promise<string> {
  if (join(workDir, 'serial.sock').length <= 100) return workDir;
  return mkdtemp(join(tmpdir(), 'xpv-'));
}
