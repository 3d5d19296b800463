// The repro folder on the real stack: a boot-smoke run leaves it behind, and its replay.sh
// boots the same media again after the run's own work dir is gone, as far as Xen's banner.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { createConnection, createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { alive, startCli } from '../../support/cli.js';

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Connects to a unix socket that may not exist yet, retrying until the deadline. */
async function connectSoon(path: string, deadlineMs: number): Promise<Socket> {
  const until = Date.now() + deadlineMs;
  for (;;) {
    try {
      return await new Promise<Socket>((resolve, reject) => {
        const s = createConnection(path, () => resolve(s));
        s.once('error', reject);
      });
    } catch (e) {
      if (Date.now() > until) throw new Error(`${path} never accepted a connection: ${(e as Error).message}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

describe.each(['uboot', 'direct'])('the repro folder of a boot-smoke run on the %s path', (boot) => {
  it('holds the exact command, the media and a replay.sh that boots to Xen', { timeout: 10 * 60_000 }, async () => {
    const run = startCli(['run', 'boot-smoke', '--boot', boot]);
    const { code } = await run.done;
    expect(code, run.stderr()).toBe(0);
    const repro = join(run.logsDir, 'repro');

    const argv = JSON.parse(readFileSync(join(repro, 'qemu-argv.json'), 'utf8')) as { binary: string; args: string[] };
    expect(argv.binary).toBe('qemu-system-aarch64');
    expect(argv.args).toContain('-no-reboot');
    const command = readFileSync(join(repro, 'qemu-command.txt'), 'utf8');
    expect(command).toContain(argv.args.find((a) => a.startsWith('user,'))!);
    expect(readFileSync(join(repro, 'xen.dts'), 'utf8')).toContain('xen,domain');
    expect(JSON.parse(readFileSync(join(repro, 'rig-manifest.json'), 'utf8'))).toHaveProperty('files');
    // The private key stays out of the folder our workflows upload; the public half says which key.
    expect(existsSync(join(repro, 'id_ed25519'))).toBe(false);
    expect(readFileSync(join(repro, 'id_ed25519.pub'), 'utf8')).toMatch(/^ssh-ed25519 /);
    expect(readFileSync(join(repro, 'README.txt'), 'utf8')).toContain('REPLAY_SSH_KEY');
    // The per-run media the command names were copied: the run's temp dir is gone by now.
    for (const name of boot === 'uboot' ? ['boot.img', 'boot.cmd'] : ['xen.dtb', 'dom0-ramdisk.cpio']) {
      expect(existsSync(join(repro, name)), name).toBe(true);
    }

    const sockets = mkdtempSync(join(tmpdir(), 'xpv-replay-'));
    const port = await freePort();
    const replay = spawn('bash', [join(repro, 'replay.sh')], {
      env: { ...process.env, REPLAY_SERIAL: 'socket', REPLAY_SOCKET_DIR: sockets, REPLAY_SSH_PORT: String(port) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let said = '';
    replay.stdout.on('data', (c: Buffer) => (said += c.toString()));
    replay.stderr.on('data', (c: Buffer) => (said += c.toString()));
    const exited = new Promise<void>((resolve) => replay.once('exit', () => resolve()));
    try {
      const serial = await connectSoon(join(sockets, 'serial.sock'), 20_000);
      let text = '';
      serial.on('data', (c: Buffer) => (text += c.toString('latin1')));
      serial.on('error', () => undefined);
      const sawBanner = await new Promise<boolean>((resolve) => {
        const poll = setInterval(() => {
          if (/\(XEN\) Xen version 4\.17/.test(text)) finish(true);
        }, 200);
        const deadline = setTimeout(() => finish(false), 4 * 60_000);
        void exited.then(() => finish(/\(XEN\) Xen version 4\.17/.test(text)));
        function finish(ok: boolean) {
          clearInterval(poll);
          clearTimeout(deadline);
          resolve(ok);
        }
      });
      serial.destroy();
      expect(sawBanner, `replay.sh output:\n${said}\nserial:\n${text.slice(-3000)}`).toBe(true);
      expect(said).toContain(`ssh -i "<private key of the run, not kept here>" -p ${port}`);
    } finally {
      // replay.sh execs QEMU: its pid is QEMU's.
      replay.kill('SIGTERM');
      const stopped = await Promise.race([exited.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 10_000))]);
      if (!stopped) replay.kill('SIGKILL');
      await exited;
    }
    expect(alive(replay.pid!)).toBe(false);
  });
});
