// Background processes against a real dropbear: output into the host log as it comes,
// `exited`, deaths reported with the stderr tail, stop() killing the whole process group
// by pid, and close() leaving nothing behind in dom0 or in this process.
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InfraError, ProductFailure } from '../../../src/errors.js';
import { reservePort } from '../../../src/machine/index.js';
import { backgroundScript, connectDom0, type BackgroundExit, type Dom0Ssh } from '../../../src/ssh/index.js';
import { alive, createLogin, Dropbear, groupMembers, killAsRoot, makeHostKey, type TestLogin } from '../../support/dropbear.js';

let login: TestLogin;
let dropbear: Dropbear;
let ssh: Dom0Ssh;

beforeAll(async () => {
  login = await createLogin();
  dropbear = new Dropbear(await reservePort(0), await makeHostKey(login.dir, 'host'), `${login.dir}/dropbear.log`);
  await dropbear.start();
  ssh = await connect();
});
afterAll(async () => {
  await ssh?.close();
  await dropbear?.stop();
  await login?.remove();
});

function connect(): Promise<Dom0Ssh> {
  return connectDom0({ host: '127.0.0.1', port: dropbear.port, username: login.username, privateKey: login.privateKey, deadline: 10_000 });
}

function logPath(name: string): string {
  return join(login.dir, 'logs', `${name}.log`);
}

async function until(condition: () => boolean | Promise<boolean>, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await condition()) return true;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return condition();
}

describe('background', () => {
  it('streams stdout and stderr into the log as they come, and resolves exited', async () => {
    const log = logPath('streams');
    const proc = await ssh.background('streams', 'echo first; echo oops >&2; sleep 1; echo second', { logFile: log });
    expect(proc.pid).toBeGreaterThan(1);
    expect(proc.running).toBe(true);

    // Before the process ends, what it printed first is already on the host.
    expect(await until(async () => (await readFile(log, 'utf8')).includes('oops'), 5_000)).toBe(true);
    expect(proc.running).toBe(true);

    const exit = await proc.exited;
    expect(exit).toMatchObject({ exitCode: 0, signal: null, stopped: false, lost: false });
    const text = await readFile(log, 'utf8');
    expect(text.split('\n').sort()).toEqual(['', 'first', 'oops', 'second']);
    expect(text).not.toContain('xen-pvh-virtio-pid');
    expect(proc.tail()).toBe('oops');
  });

  it('reports an unexpected death as a ProductFailure with the stderr tail', async () => {
    const proc = await ssh.background(
      'backend',
      'echo starting; sleep 0.5; for i in 1 2 3 4 5; do echo "qemu: line $i" >&2; done; exit 3',
      { logFile: logPath('backend') },
    );
    const death = new Promise<[Error, BackgroundExit]>((resolve) => proc.onDeath((error, exit) => resolve([error, exit])));

    const [error, exit] = await death;
    expect(error).toBeInstanceOf(ProductFailure);
    expect(error.message).toBe('backend exited with status 3:\nqemu: line 1\nqemu: line 2\nqemu: line 3\nqemu: line 4\nqemu: line 5');
    expect((error as ProductFailure).detail.logFile).toBe(logPath('backend'));
    expect(exit).toMatchObject({ exitCode: 3, stopped: false, lost: false });

    // A listener that subscribes after the death still hears of it.
    const late = await new Promise<Error>((resolve) => proc.onDeath((e) => resolve(e)));
    expect(late).toBe(error);
  });

  it('names the signal when the process was killed from outside', async () => {
    const proc = await ssh.background('victim', 'exec sleep 60', { logFile: logPath('victim') });
    const death = new Promise<Error>((resolve) => proc.onDeath((e) => resolve(e)));
    await killAsRoot(proc.pid, 'SEGV');
    // The waiting shell's own report of the signal is the tail.
    expect((await death).message).toBe('victim exited with status 139 (SIGSEGV):\nSegmentation fault');
  });

  it('reports a lost connection as an InfraError death, not as the process failing', async () => {
    const own = await connect();
    try {
      const session = Number((await own.exec('echo $PPID', { deadline: 10_000 })).stdout.trim());
      const proc = await own.background('orphaned', 'sleep 300', { logFile: logPath('orphaned') });
      const death = new Promise<[Error, BackgroundExit]>((resolve) => proc.onDeath((e, exit) => resolve([e, exit])));
      await killAsRoot(session);

      const [error, exit] = await death;
      expect(error).toBeInstanceOf(InfraError);
      expect(error).not.toBeInstanceOf(ProductFailure);
      expect(error.message).toBe('orphaned was lost with the connection to dom0 (its state is unknown)');
      expect(exit).toMatchObject({ exitCode: null, lost: true, stopped: false });
      await killAsRoot(proc.pid).catch(() => undefined);
    } finally {
      await own.close();
    }
  });

  it('stop() kills the whole process group by pid and is no death', async () => {
    const proc = await ssh.background('tree', 'sleep 300 & sleep 301 & echo children started; wait', { logFile: logPath('tree') });
    const deaths: Error[] = [];
    proc.onDeath((e) => deaths.push(e));

    expect(await until(async () => (await groupMembers(proc.pid)).length >= 3, 5_000)).toBe(true);
    const members = await groupMembers(proc.pid);
    expect(members).toContain(proc.pid);

    const exit = await proc.stop(10_000);
    expect(exit).toMatchObject({ exitCode: 143, stopped: true, lost: false });
    expect(await proc.exited).toBe(exit);
    for (const pid of members) expect(alive(pid)).toBe(false);
    expect(await groupMembers(proc.pid)).toEqual([]);
    expect(deaths).toEqual([]);
    // Stopping what already stopped answers with the same exit.
    expect(await proc.stop(1_000)).toBe(exit);
  });

  it('stop() escalates to SIGKILL when SIGTERM is ignored', async () => {
    const proc = await ssh.background('stubborn', "trap '' TERM; echo armed; while :; do sleep 0.1; done", {
      logFile: logPath('stubborn'),
    });
    expect(await until(async () => (await readFile(logPath('stubborn'), 'utf8')).includes('armed'), 5_000)).toBe(true);
    const started = Date.now();
    const exit = await proc.stop(10_000, 500);
    expect(exit).toMatchObject({ exitCode: 137, stopped: true });
    expect(Date.now() - started).toBeGreaterThanOrEqual(500);
    expect(alive(proc.pid)).toBe(false);
    expect(await groupMembers(proc.pid)).toEqual([]);
  });

  it('fails the start with what the shell said when the command cannot run', async () => {
    const proc = await ssh.background('missing', 'no-such-program --flag', { logFile: logPath('missing') });
    const exit = await proc.exited;
    expect(exit.exitCode).toBe(127);
    expect(proc.tail()).toMatch(/no-such-program: (not found|command not found)/);
  });

  it('refuses a name that cannot be a file name', async () => {
    await expect(ssh.background('../evil', 'true', { logFile: logPath('evil') })).rejects.toThrow(InfraError);
  });

  it('quotes the command as one shell word', () => {
    expect(backgroundScript(`echo 'it''s' "$HOME"`)).toBe(
      `setsid sh -c 'echo "xen-pvh-virtio-pid:$$" >&2; exec sh -c "$1"' xen-pvh-virtio-bg 'echo '\\''it'\\'''\\''s'\\'' "$HOME"' </dev/null & wait $!`,
    );
  });
});

describe('close', () => {
  it('stops background processes, ends the connection, leaves no handles, and is idempotent', async () => {
    const count = (): Map<string, number> => {
      const counts = new Map<string, number>();
      for (const kind of process.getActiveResourcesInfo()) counts.set(kind, (counts.get(kind) ?? 0) + 1);
      return counts;
    };
    const before = count();

    const own = await connect();
    const proc = await own.background('left-running', 'sleep 300', { logFile: logPath('left-running') });
    const running = own.exec('sleep 300', { deadline: 60_000 }).catch((e: unknown) => e);
    const deaths: Error[] = [];
    proc.onDeath((e) => deaths.push(e));
    expect(alive(proc.pid)).toBe(true);
    expect((count().get('TCPSocketWrap') ?? 0)).toBeGreaterThan(before.get('TCPSocketWrap') ?? 0);

    const closing = own.close();
    expect(own.close()).toBe(closing);
    await closing;

    expect(alive(proc.pid)).toBe(false);
    expect(await proc.exited).toMatchObject({ stopped: true });
    expect(deaths).toEqual([]);
    const err = await running;
    expect(err).toBeInstanceOf(InfraError);
    expect((err as Error).message).toMatch(/^connection to dom0 was closed while running `sleep 300`/);
    await expect(own.exec('true', { deadline: 1_000 })).rejects.toThrow(/SSH to .* is closed/);

    // Give libuv a turn to release what was closed, then nothing of ours is left.
    await new Promise((resolve) => setImmediate(resolve));
    const after = count();
    for (const kind of ['TCPSocketWrap', 'Timeout', 'FSReqCallback', 'FileHandle', 'CloseReq']) {
      expect({ kind, n: after.get(kind) ?? 0 }).toEqual({ kind, n: Math.min(after.get(kind) ?? 0, before.get(kind) ?? 0) });
    }
  });
});

describe('a process that used the driver', () => {
  it('exits by itself after close(), with nothing keeping its event loop alive', async () => {
    // Bundled like dist/ is, then run as its own Node process that never calls process.exit.
    const script = join(login.dir, 'uses-driver.mjs');
    await build({
      stdin: {
        contents: `
          import { readFileSync } from 'node:fs';
          import { connectDom0 } from './src/ssh/index.ts';
          const ssh = await connectDom0({
            host: '127.0.0.1', port: Number(process.env.PORT), username: process.env.LOGIN,
            privateKey: readFileSync(process.env.KEY_FILE), deadline: 10_000,
          });
          const r = await ssh.exec('echo hello', { deadline: 10_000 });
          const bg = await ssh.background('lingering', 'sleep 300', { logFile: process.env.LOG });
          await ssh.close();
          console.log(JSON.stringify({ out: r.stdout, pid: bg.pid }));
        `,
        resolveDir: resolve(import.meta.dirname, '../../..'),
        loader: 'ts',
      },
      outfile: script,
      bundle: true,
      format: 'esm',
      platform: 'node',
      target: 'node20',
      external: ['cpu-features', '*.node'],
      // ssh2's agent.js reads __dirname at load, which ESM lacks (see the report on dist/).
      define: { __dirname: 'import.meta.dirname' },
      banner: { js: "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);" },
      logLevel: 'error',
    });

    const child = spawn(process.execPath, [script], {
      env: { ...process.env, PORT: String(dropbear.port), LOGIN: login.username, KEY_FILE: join(login.dir, 'keys', 'id_ed25519'), LOG: logPath('child') },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
    const exited = new Promise<number | null>((done) => child.once('exit', (code) => done(code)));
    const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    const code = await exited;
    clearTimeout(timer);

    expect({ code, err }).toEqual({ code: 0, err: '' });
    const report = JSON.parse(out) as { out: string; pid: number };
    expect(report.out).toBe('hello\n');
    expect(alive(report.pid)).toBe(false);
  });
});

describe('waitForLine', () => {
  it('finds a line already printed or still to come, on either stream', async () => {
    const proc = await ssh.background(
      'ready-check',
      "echo 'xen_ioreq_server_create id=0' >&2; sleep 0.5; printf 'xen_map_mmio_range\\r\\n'; printf 'no newline'; sleep 0.5",
      { logFile: logPath('ready-check') },
    );
    expect(await proc.waitForLine(/xen_map_mmio_range/g, 10_000)).toBe('xen_map_mmio_range');
    expect(await proc.waitForLine(/ioreq_server_create/, 1_000)).toBe('xen_ioreq_server_create id=0');
    // The unterminated last line counts once the process has ended.
    await proc.exited;
    expect(await proc.waitForLine(/no newline/, 1_000)).toBe('no newline');
  });

  it('fails with the tail when the process ends first, or when the deadline passes', async () => {
    const dies = await ssh.background('dies-early', 'echo "warning: xen: failed to create ioreq server" >&2; exit 1', {
      logFile: logPath('dies-early'),
    });
    const early = await dies.waitForLine(/xen_map_mmio_range/, 10_000).catch((e: unknown) => e);
    expect(early).toBeInstanceOf(ProductFailure);
    expect((early as Error).message).toBe(
      'dies-early: waiting for a line matching /xen_map_mmio_range/: the process exited with status 1 first:\nwarning: xen: failed to create ioreq server',
    );

    const quiet = await ssh.background('quiet', 'echo idle >&2; sleep 300', { logFile: logPath('quiet') });
    const late = await quiet.waitForLine(/never/, 300).catch((e: unknown) => e);
    expect(late).toBeInstanceOf(ProductFailure);
    expect((late as Error).message).toMatch(/^quiet: waiting for a line matching \/never\/: deadline passed after 0\.\d s:\nidle$/);
    await quiet.stop(10_000);
  });
});
