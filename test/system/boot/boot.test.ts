// Boots the real rig under QEMU TCG on both boot paths, far enough to see Xen, dom0 and a
// domU start and reach their shells, and logs in to dom0 with the run's own SSH key.
import { copyFile, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BootPath, DomainSpec } from '../../../src/config/types.js';
import { run } from '../../../src/host/exec.js';
import { BOOT_SCRIPT_MARKER, buildBootMedia } from '../../../src/image/index.js';
import { liveProcessCount, reservePort, startMachine, stopMachine, type Machine } from '../../../src/machine/index.js';
import { defaultCacheDir, obtainRig, READY_LINE } from '../../../src/rig/index.js';
import type { Rig } from '../../../src/rig/manifest.js';

/** Boots take 20–50 s here and longer under load: minutes of headroom, never hours. */
const BOOT_DEADLINE_MS = 5 * 60_000;
const SSH_DEADLINE_MS = 90_000;
const DOMAINS: DomainSpec[] = [{ name: 'domU1', domid: 1, memoryMiB: 512, cpus: 1, vpl011: true }];

interface Milestone {
  name: string;
  pattern: RegExp;
}

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const DOMU_PREFIX = String.raw`(?:\(XEN\) DOM1: |\(d1\) )`;

function milestones(boot: BootPath): Milestone[] {
  const list: Milestone[] = [];
  if (boot === 'uboot') {
    list.push({ name: 'u-boot banner', pattern: /^U-Boot 20\d\d/ });
    list.push({ name: 'boot.scr', pattern: new RegExp(`^${escape(BOOT_SCRIPT_MARKER)}`) });
  }
  list.push(
    { name: 'Xen banner', pattern: /^\(XEN\) Xen version \d/ },
    { name: 'dom0 kernel', pattern: /^\[\s*\d+\.\d+\] Booting Linux/ },
    { name: 'domU kernel', pattern: new RegExp(`^${DOMU_PREFIX}\\[\\s*\\d+\\.\\d+\\] Booting Linux`) },
    { name: 'domU shell ready', pattern: new RegExp(`^${DOMU_PREFIX}${escape(READY_LINE.domU)}`) },
    { name: 'dom0 shell ready', pattern: new RegExp(`^${escape(READY_LINE.dom0)}`) },
  );
  return list;
}

const FATAL = /Kernel panic - not syncing|\(XEN\) Panic on CPU|\(XEN\) Reboot in five seconds/;

/** A console line for matching: CR and ANSI sequences removed (docs/rig-facts.md, "Console"). */
function clean(line: string): string {
  // eslint-disable-next-line no-control-regex
  return line.replace(/\r/g, '').replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '');
}

/** Waits until every milestone has been seen, recording when; fails with the console tail. */
async function watchBoot(machine: Machine, list: Milestone[], startedAt: number, deadlineMs: number): Promise<Map<string, number>> {
  const seen = new Map<string, number>();
  return new Promise((resolve, reject) => {
    let finished = false;
    const done = (err?: Error) => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      unsubscribe();
      if (err) reject(err);
      else resolve(seen);
    };
    const fail = (why: string) => {
      const missing = list.filter((m) => !seen.has(m.name)).map((m) => m.name);
      done(new Error(`${why}; not seen: ${missing.join(', ')}\n--- console tail ---\n${machine.serial.tail(40)}`));
    };
    const timer = setTimeout(() => fail(`boot deadline of ${deadlineMs / 1000} s passed`), deadlineMs);
    let partial = '';
    const onLine = (line: string) => {
      for (const m of list) if (!seen.has(m.name) && m.pattern.test(line)) seen.set(m.name, Date.now() - startedAt);
      if (FATAL.test(line)) fail(`a fatal console line appeared: ${line}`);
      else if (seen.size === list.length) done();
    };
    const check = (chunk: Buffer) => {
      const lines = (partial + chunk.toString('utf8')).split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) if (!finished) onLine(clean(line));
    };
    const unsubscribe = machine.serial.subscribe(check);
    void machine.exited.then((e) => fail(`QEMU exited (code ${e.code}, signal ${e.signal})`));
    check(machine.serial.captured());
  });
}

/** Logs in with the run's key; dropbear comes up a little after the shell line. */
async function sshEcho(port: number, key: string, deadlineMs: number): Promise<{ output: string; atMs: number }> {
  const started = Date.now();
  let last = '';
  while (Date.now() - started < deadlineMs) {
    const r = await run(
      'ssh',
      [
        '-i', key, '-p', String(port),
        '-o', 'BatchMode=yes', '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null',
        '-o', 'ConnectTimeout=10', '-o', 'ServerAliveInterval=5', '-o', 'ServerAliveCountMax=2', '-o', 'LogLevel=ERROR',
        'root@127.0.0.1', 'echo ssh-$((40+2))-ok',
      ],
      { allowFailure: true },
    );
    if (r.exitCode === 0) return { output: r.stdout.trim(), atMs: Date.now() - started };
    last = r.stderr.trim();
    await new Promise((res) => setTimeout(res, 2_000));
  }
  throw new Error(`ssh to dom0 on 127.0.0.1:${port} did not succeed within ${deadlineMs / 1000} s: ${last}`);
}

let rig: Rig;
let work: string;

beforeAll(async () => {
  rig = (await obtainRig({ provider: 'debian' }, { cacheDir: defaultCacheDir(), log: (l) => console.log(`[rig] ${l}`) })).rig;
  work = await mkdtemp(join(tmpdir(), 'xpv-boot-'));
});

afterAll(async () => {
  if (work) await rm(work, { recursive: true, force: true });
});

describe.each<BootPath>(['uboot', 'direct'])('boot path %s', (boot) => {
  it(
    'boots Xen, dom0 and domU1 to their shells and lets the run key into dom0',
    async () => {
      const workDir = join(work, boot);
      const sshPort = await reservePort(0);
      const media = await buildBootMedia({ rig, domains: DOMAINS, boot, workDir, sshPort });
      const startedAt = Date.now();
      const machine = await startMachine(media.launch, { logDir: join(workDir, 'logs') });
      try {
        const seen = await watchBoot(machine, milestones(boot), startedAt, BOOT_DEADLINE_MS);
        const ssh = await sshEcho(machine.sshPort, media.sshKey.privateKeyPath, SSH_DEADLINE_MS);
        expect(ssh.output).toBe('ssh-42-ok');
        const timeline = [...seen].map(([name, ms]) => `${name} ${(ms / 1000).toFixed(1)} s`);
        timeline.push(`ssh answered ${((Date.now() - startedAt) / 1000).toFixed(1)} s`);
        console.log(`[boot ${boot}] ${timeline.join(' · ')}`);
      } finally {
        await stopMachine(machine);
        // Set XPV_SERIAL_CAPTURE_DIR to keep the raw capture (how test/fixtures/serial/ was made).
        const keep = process.env.XPV_SERIAL_CAPTURE_DIR;
        if (keep) {
          await mkdir(keep, { recursive: true });
          await copyFile(machine.logFiles.serial, join(keep, `${boot}-boot.raw`));
        }
      }
      expect(() => process.kill(machine.pid, 0)).toThrow();
      expect(liveProcessCount()).toBe(0);
    },
    BOOT_DEADLINE_MS + SSH_DEADLINE_MS + 120_000,
  );
});
