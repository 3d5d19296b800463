// The built-in boot-smoke scenario, for real: the debian rig booted under QEMU TCG on both
// boot paths, driven through Xen's console and SSH by the committed CLI.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { validateJunit } from '../../support/junit.js';
import { alive, startCli } from '../../support/cli.js';

describe.each(['uboot', 'direct'])('boot-smoke on the %s path', (boot) => {
  it('passes every step and writes valid JUnit, logs and a timeline', { timeout: 10 * 60_000 }, async () => {
    const run = startCli(['run', 'boot-smoke', '--boot', boot]);
    const { code } = await run.done;
    expect(code, run.stderr()).toBe(0);
    const xml = readFileSync(run.junitPath, 'utf8');
    validateJunit(xml);
    expect(xml).toMatch(/<testsuite name="boot-smoke" [^\n]* tests="6" failures="0" errors="0" skipped="0"/);
    for (const phase of ['qemu start', 'xen banner', 'dom0 shell', 'domU1 shell', 'ssh ready', 'scenarios end']) {
      expect(xml).toContain(`<property name="phase.${phase}"`);
    }
    // The domU answered on its console after a focus switch, and dom0 after switching back.
    expect(xml).toContain('domU1# uname -m\naarch64');
    expect(xml).toContain('control_d');
    const domU = readFileSync(join(run.logsDir, 'console-domU1.log'), 'utf8');
    expect(domU).toContain('xen-pvh-virtio: domU shell ready');
    expect(readFileSync(join(run.logsDir, 'console-xen.log'), 'utf8')).toContain('Serial input to DOM1');
    expect(readFileSync(join(run.logsDir, 'repro', 'qemu-command.txt'), 'utf8')).toContain('qemu-system-aarch64');
    const pid = Number(readFileSync(join(run.logsDir, 'qemu.pid'), 'utf8'));
    expect(alive(pid)).toBe(false);
  });
});
