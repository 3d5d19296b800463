import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { run } from '../../../src/host/exec.js';
import { newcArchive } from '../../../src/image/cpio.js';

it('writes newc archives that GNU cpio unpacks with the right names, modes and bytes', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'xpv-cpio-'));
  try {
    const archive = newcArchive([
      { path: 'etc', type: 'dir', mode: 0o755 },
      { path: 'etc/odd-length-name.x', type: 'file', mode: 0o640, data: Buffer.from('abc') },
      { path: 'etc/empty', type: 'file', mode: 0o600 },
    ]);
    expect(archive.length % 4).toBe(0);
    await run('cpio', ['-id', '--no-absolute-filenames'], { cwd: dir, input: archive });
    expect(await readFile(join(dir, 'etc/odd-length-name.x'), 'utf8')).toBe('abc');
    expect((await stat(join(dir, 'etc/odd-length-name.x'))).mode & 0o777).toBe(0o640);
    expect((await stat(join(dir, 'etc/empty'))).size).toBe(0);
    expect((await stat(join(dir, 'etc'))).isDirectory()).toBe(true);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
