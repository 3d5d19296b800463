// Dom0Ssh.exec and run against a real dropbear: exit statuses, separate streams, the
// deadline, and a connection that drops under a running command.
import { performance } from 'node:perf_hooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InfraError, ProductFailure } from '../../../src/errors.js';
import { reservePort } from '../../../src/machine/index.js';
import { connectDom0, Dom0CommandError, type Dom0Ssh } from '../../../src/ssh/index.js';
import { alive, createLogin, Dropbear, killAsRoot, makeHostKey, type TestLogin } from '../../support/dropbear.js';

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

describe('exec', () => {
  it('returns exit status, stdout and stderr apart, and the time taken', async () => {
    const ok = await ssh.exec('echo out; echo err >&2', { deadline: 10_000 });
    expect(ok).toMatchObject({ exitCode: 0, signal: null, stdout: 'out\n', stderr: 'err\n' });
    expect(ok.durationMs).toBeGreaterThanOrEqual(0);

    const failed = await ssh.exec('printf partial; exit 3', { deadline: 10_000 });
    expect(failed).toMatchObject({ exitCode: 3, signal: null, stdout: 'partial', stderr: '' });
  });

  it("tells the channel's opening, the command's own run and the wait for the channel's close apart", async () => {
    const r = await ssh.exec('sleep 0.3; echo done', { deadline: 10_000 });
    expect(r.stdout).toBe('done\n');
    const { openMs, runMs, closeMs } = r.timing;
    expect(runMs).toBeGreaterThanOrEqual(290);
    expect(openMs).toBeGreaterThanOrEqual(0);
    expect(openMs).toBeLessThan(runMs);
    // dropbear closes the channel as soon as the shell and its output are done.
    expect(closeMs).toBeLessThan(200);
    expect(Math.abs(openMs + runMs + closeMs - r.durationMs)).toBeLessThan(2);
  });

  it('reports a command ended by a signal', async () => {
    const killed = await ssh.exec('kill -TERM $$', { deadline: 10_000 });
    expect(killed).toMatchObject({ exitCode: null, signal: 'SIGTERM' });
  });

  it('runs several commands at once on their own channels', async () => {
    const results = await Promise.all(
      [1, 2, 3, 4].map((n) => ssh.exec(`sleep 0.${n}; echo ${n}`, { deadline: 10_000 })),
    );
    expect(results.map((r) => r.stdout)).toEqual(['1\n', '2\n', '3\n', '4\n']);
  });

  it('kills the shell and closes the channel at the deadline, throwing with the output so far', async () => {
    const command = 'echo "shell $$"; echo warming >&2; sleep 30';
    const started = performance.now();
    const err = await ssh.exec(command, { deadline: 1_000 }).catch((e: unknown) => e);
    const took = performance.now() - started;

    expect(err).toBeInstanceOf(Dom0CommandError);
    expect(err).toBeInstanceOf(InfraError);
    expect(err).toMatchObject({ why: 'deadline', stderr: 'warming\n' });
    const { stdout } = err as Dom0CommandError;
    expect(stdout).toMatch(/^shell \d+\n$/);
    expect((err as Error).message).toBe(
      `dom0 command \`${command}\` did not finish within ${/within (\d+) ms/.exec((err as Error).message)?.[1]} ms\n` +
        `stdout so far:\n${stdout.trim()}\nstderr so far:\nwarming`,
    );
    expect(took).toBeGreaterThan(950);
    expect(took).toBeLessThan(3_000);

    // The shell dropbear started got SIGKILL (its orphaned `sleep` may linger: documented).
    const shell = Number(stdout.split(' ')[1]);
    const end = Date.now() + 5_000;
    while (alive(shell) && Date.now() < end) await new Promise((resolve) => setTimeout(resolve, 50));
    expect(alive(shell)).toBe(false);
    // The connection survives a command that timed out.
    expect((await ssh.exec('echo still here', { deadline: 10_000 })).stdout).toBe('still here\n');
  });

  it('returns soon after the exit status when a child the command left keeps its output open', async () => {
    const started = performance.now();
    const result = await ssh.exec('sleep 5 & echo parent done', { deadline: 10_000 });
    expect(result).toMatchObject({ exitCode: 0, stdout: 'parent done\n' });
    expect(performance.now() - started).toBeLessThan(4_000);
  });
});

describe('run', () => {
  it('returns what succeeded and throws a ProductFailure for a non-zero exit', async () => {
    expect((await ssh.run('echo fine', { deadline: 10_000 })).stdout).toBe('fine\n');
    const err = await ssh.run('echo no such device >&2; exit 2', { deadline: 10_000 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ProductFailure);
    expect((err as Error).message).toBe('dom0 command `echo no such device >&2; exit 2` exited with status 2:\nno such device');
  });
});

describe('a dropped connection', () => {
  it('fails the running command with an error naming it, and later commands too', async () => {
    const own = await connect();
    try {
      // The shell's parent is dropbear's process for this connection: killing it drops the link.
      const session = Number((await own.exec('echo $PPID', { deadline: 10_000 })).stdout.trim());
      expect(alive(session)).toBe(true);
      const running = own.exec('echo before; sleep 30', { deadline: 20_000 }).catch((e: unknown) => e);
      await new Promise((resolve) => setTimeout(resolve, 500));
      await killAsRoot(session);

      const err = await running;
      expect(err).toBeInstanceOf(Dom0CommandError);
      expect(err).toMatchObject({ why: 'dropped', command: 'echo before; sleep 30' });
      expect((err as Error).message).toMatch(/^(connection to dom0 dropped|dom0 closed the channel).*`echo before; sleep 30`/);
      expect(own.connected).toBe(false);

      const next = await own.exec('true', { deadline: 1_000 }).catch((e: unknown) => e);
      expect(next).toBeInstanceOf(InfraError);
      expect((next as Error).message).toMatch(/^cannot run `true`: SSH to .* is not connected$/);
    } finally {
      await own.close();
    }
  });
});
