// The Console on the real stack: a dom0less boot of the cached Debian rig under TCG, then
// focus DOM1, `uname -a` in the domU, back to dom0. Runs when a rig bundle is in the cache
// (obtainRig put it there); set XPV_SKIP_BOOT=1 to skip, XPV_SAVE_CAPTURE=<file> to keep the
// serial bytes (that is how test/fixtures/serial/real-*.raw were made).
import { existsSync, readdirSync } from 'node:fs';
import { copyFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { DomainSpec } from '../../../src/config/types.js';
import { Console, serialDuplex } from '../../../src/console/index.js';
import { Deadline } from '../../../src/deadline.js';
import { buildBootMedia } from '../../../src/image/index.js';
import { reservePort, startMachine, stopMachine, type Machine } from '../../../src/machine/index.js';
import { defaultCacheDir, readRig } from '../../../src/rig/index.js';

function cachedRigDir(): string | undefined {
  const rigs = join(defaultCacheDir(), 'rigs');
  if (!existsSync(rigs)) return undefined;
  const found = readdirSync(rigs).find((k) => existsSync(join(rigs, k, 'manifest.json')));
  return found && join(rigs, found);
}

const rigDir = process.env.XPV_SKIP_BOOT ? undefined : cachedRigDir();
const domains: DomainSpec[] = [{ name: 'domU1', domid: 1, memoryMiB: 512, cpus: 1, vpl011: true }];

describe.skipIf(!rigDir)('real boot (cached rig, TCG)', () => {
  let machine: Machine | undefined;
  let console: Console | undefined;
  let workDir = '';

  afterAll(async () => {
    await console?.close();
    if (machine) await stopMachine(machine);
    if (workDir && !process.env.XPV_KEEP_WORK) await rm(workDir, { recursive: true, force: true });
  });

  it('boots, runs uname -a in DOM1 and comes back to dom0', async () => {
    workDir = await mkdtemp(join(tmpdir(), 'console-boot-'));
    const rig = await readRig(rigDir as string);
    const sshPort = await reservePort(0);
    const media = await buildBootMedia({ rig, domains, boot: 'direct', workDir, sshPort });
    const logDir = join(workDir, 'logs');
    machine = await startMachine(media.launch, { logDir });
    console = new Console(serialDuplex(machine.serial, machine.exited), { logDir, rawLog: false, domains });

    // Boots under load took 40–53 s to the dom0 shell here (docs/rig-facts.md, "Boot times"): minutes of headroom.
    const boot = Deadline.after(300_000);
    expect((await console.waitForShell('dom0', boot)).how).toBe('ready-line');
    expect((await console.waitForShell('domU1', boot)).how).toBe('ready-line');

    const inDomU = await console.run('domU1', 'uname -a', 120_000);
    expect(console.currentFocus).toBe('d1');
    expect(inDomU.exitStatus).toBe(0);
    expect(inDomU.output.join('\n')).toMatch(/^Linux \S+ 6\.\d+\S* .*aarch64/m);

    const bad = await console.run('domU1', 'false', 60_000);
    expect(bad.exitStatus).toBe(1);

    const inDom0 = await console.run('dom0', 'uname -a', 120_000);
    expect(console.currentFocus).toBe('dom0');
    expect(inDom0.exitStatus).toBe(0);
    expect(inDom0.output.join('\n')).toMatch(/^Linux \S+ 6\.\d+\S* .*aarch64/m);
    expect(console.focusHistory.map((f) => f.focus)).toEqual(['dom0', 'd1', 'xen', 'dom0']);

    if (process.env.XPV_SAVE_CAPTURE) await copyFile(machine.logFiles.serial, process.env.XPV_SAVE_CAPTURE);
  }, 600_000);
});
