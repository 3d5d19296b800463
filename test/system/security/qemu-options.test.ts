// Finding 9: paths under the user's cache and logs directories go into QEMU's option strings.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import type { Socket } from 'node:net';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { QEMU_BINARY, bootArgs, dumpDtbArgs } from '../../../src/machine/qemu-args.js';
import { QmpClient } from '../../../src/machine/qmp.js';
import { connectWhenListening } from '../../../src/machine/socket.js';

// Short: the serial socket's path must stay within a Unix socket's 108 bytes.
const commaDir = () => {
  const dir = join(mkdtempSync(join(tmpdir(), 'xpv-')), 'a,id=x,b');
  mkdirSync(dir);
  return dir;
};

describe("QEMU's option strings", () => {
  it('hold a path with commas as one value (the DT dump writes exactly there)', () => {
    const dtb = join(commaDir(), 'qemu.dtb');
    const r = spawnSync(QEMU_BINARY, dumpDtbArgs({ memoryMiB: 512, cpus: 1, accel: 'tcg' }, dtb), { encoding: 'utf8', timeout: 60_000 });
    expect(r.stderr).toBe(`qemu-system-aarch64: info: dtb dumped to ${dtb}. Exiting.\n`);
    expect(existsSync(dtb)).toBe(true);
  });

  it('give the boot its sockets and loader files at paths with commas', async () => {
    const dir = commaDir();
    const blob = join(dir, 'blob,1');
    writeFileSync(blob, Buffer.alloc(16));
    writeFileSync(join(dir, 'xen'), Buffer.alloc(4096));
    const dtb = join(dir, 'board.dtb');
    expect(spawnSync(QEMU_BINARY, dumpDtbArgs({ memoryMiB: 512, cpus: 1, accel: 'tcg' }, dtb)).status).toBe(0);
    const args = bootArgs({
      shape: { memoryMiB: 512, cpus: 1, accel: 'tcg' },
      target: { kind: 'direct', xenImage: join(dir, 'xen'), dtb, blobs: [{ file: blob, addr: 0x60000000 }] },
      serialSocket: join(dir, 's.sock'),
      qmpSocket: join(dir, 'q.sock'),
      sshPort: 0,
    });
    // Both sockets answering at their exact paths, and QMP running after the loader's files were
    // opened, prove every value was read whole: a split value stops QEMU with "Invalid parameter".
    const qemu = spawn(QEMU_BINARY, [...args, '-S'], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    qemu.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<void>((resolve) => qemu.on('exit', () => resolve()));
    const alive = () => qemu.exitCode === null;
    try {
      const serial = await connectWhenListening(join(dir, 's.sock'), 20_000, alive).catch((e: Error) => new Error(`${e.message}: ${stderr}`));
      expect(serial).not.toBeInstanceOf(Error);
      const qmp = await QmpClient.connect(join(dir, 'q.sock'), 20_000, alive).catch((e: Error) => { throw new Error(`${e.message}: ${stderr}`); });
      expect(await qmp.execute('query-status', undefined, 10_000)).toMatchObject({ status: 'prelaunch' });
      qmp.close();
      (serial as Socket).destroy();
      expect(stderr).not.toMatch(/Invalid parameter|Could not open|error/i);
    } finally {
      qemu.kill('SIGKILL');
      await exited;
    }
  });
});
