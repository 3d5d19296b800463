// dom0's shell is busybox ash with busybox's setsid, kill and sleep, not the host's dash,
// util-linux and coreutils: the background and stop scripts must work there too. Run here
// through busybox applets alone, the way dom0 runs them.
import { spawn } from 'node:child_process';
import { mkdtemp, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { backgroundScript, stopGroupScript } from '../../../src/ssh/index.js';
import { alive, groupMembers } from '../../support/dropbear.js';

const BUSYBOX = '/bin/busybox';
let bin: string;

beforeAll(async () => {
  bin = await mkdtemp(join(tmpdir(), 'xpv-busybox-'));
  for (const applet of ['sh', 'setsid', 'kill', 'sleep', 'echo']) await symlink(BUSYBOX, join(bin, applet));
});
// Groups a failed test may have left running; killed whatever the outcome.
const groups: number[] = [];
afterAll(async () => {
  for (const pgid of groups) {
    try {
      process.kill(-pgid, 'SIGKILL');
    } catch {
      // Already gone, as it should be.
    }
  }
  await rm(bin, { recursive: true, force: true });
});

interface Ran {
  stdout: string;
  stderr: string;
  exited: Promise<number | null>;
}

function busyboxSh(script: string): Ran {
  const child = spawn(join(bin, 'sh'), ['-c', script], { env: { PATH: bin }, stdio: ['ignore', 'pipe', 'pipe'] });
  const ran: Ran = { stdout: '', stderr: '', exited: Promise.resolve(null) };
  child.stdout.on('data', (chunk: Buffer) => (ran.stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (ran.stderr += chunk.toString()));
  const guard = setTimeout(() => child.kill('SIGKILL'), 20_000);
  ran.exited = new Promise((done) =>
    child.once('close', (code) => {
      clearTimeout(guard);
      done(code);
    }),
  );
  return ran;
}

async function started(ran: Ran): Promise<number> {
  const end = Date.now() + 5_000;
  while (!(/xen-pvh-virtio-pid:\d+\n/.test(ran.stderr) && ran.stdout.includes('up')) && Date.now() < end) {
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  const pid = Number(/xen-pvh-virtio-pid:(\d+)\n/.exec(ran.stderr)?.[1]);
  if (pid > 1) groups.push(pid);
  return pid;
}

it('runs the command as a session leader that reports its pid; stop ends the whole group', async () => {
  const ran = busyboxSh(backgroundScript('sleep 300 & sleep 301 & echo up; wait'));
  const pid = await started(ran);
  expect(pid).toBeGreaterThan(1);
  const members = await groupMembers(pid);
  expect(members).toHaveLength(3);

  const stop = busyboxSh(stopGroupScript(pid, 5_000));
  expect(await stop.exited).toBe(0);
  expect(stop).toMatchObject({ stdout: 'stopped\n', stderr: '' });
  expect(await ran.exited).toBe(143);
  for (const member of members) expect(alive(member)).toBe(false);

  // Stopping a group that is already gone is quiet and quick: stop() may race the exit.
  const again = busyboxSh(stopGroupScript(pid, 5_000));
  expect(await again.exited).toBe(0);
  expect(again.stdout).toBe('stopped\n');
});

it('kills members that ignore SIGTERM once the grace is over', async () => {
  const ran = busyboxSh(backgroundScript(`sh -c 'trap "" TERM; sleep 300' & echo up; wait`));
  const pid = await started(ran);
  // The leader and the stubborn sleep (ignored SIGTERM survives exec), maybe its shell too.
  expect((await groupMembers(pid)).length).toBeGreaterThanOrEqual(2);

  const began = Date.now();
  const stop = busyboxSh(stopGroupScript(pid, 300));
  expect(await stop.exited).toBe(0);
  expect(Date.now() - began).toBeGreaterThanOrEqual(300);
  expect(await groupMembers(pid)).toEqual([]);
  expect(await ran.exited).toBe(143);
});
