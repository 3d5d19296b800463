// Faults on the real stack: a wait that never comes, QEMU dying mid-scenario (retried once),
// and a SIGTERM to the CLI. Each must end promptly, in the right class, with the evidence.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { validateJunit } from '../../support/junit.js';
import { alive, startCli } from '../../support/cli.js';

function scenario(dir: string, name: string, waitFor: string, timeout: string): string {
  const file = join(dir, `${name}.yaml`);
  writeFileSync(
    file,
    `name: ${name}
domains:
  domU1: { vpl011: true }
steps:
  - wait: { console: dom0, for: shell, timeout: 5m }
  - wait: { console: domU1, for: shell, timeout: 5m }
  - wait: { console: domU1, for: "${waitFor}", timeout: ${timeout} }
`,
  );
  return file;
}

const scratch = () => mkdtempSync(join(tmpdir(), 'xpv-fault-'));
const shellsUp = /\[2\/3\] ok +wait for shell on domU1/;

describe('faults on the real stack', () => {
  it('an expectation that never comes fails at its deadline with the console tail; SIGTERM ends a keep-alive early', { timeout: 10 * 60_000 }, async () => {
    const real = startCli(['run', scenario(scratch(), 'never', 'this-line-never-appears', '5s'), '--keep-alive-on-failure', '10m']);
    await real.waitFor(shellsUp, 5 * 60_000);
    const shellsAt = Date.now();
    await real.waitFor(/\[3\/3\] FAIL/, 60_000);
    expect(Date.now() - shellsAt).toBeGreaterThan(4_000);
    expect(Date.now() - shellsAt).toBeLessThan(30_000);
    // The machine is kept for ten minutes; a SIGTERM ends that at once and still cleans up.
    await real.waitFor(/keep-alive-on-failure: the machine stays up for 10m0s/, 90_000);
    const pid = Number(readFileSync(join(real.logsDir, 'qemu.pid'), 'utf8'));
    expect(alive(pid)).toBe(true);
    const sentAt = Date.now();
    real.child.kill('SIGTERM');
    const { code, at } = await real.done;
    expect(at - sentAt, real.stderr()).toBeLessThan(15_000);
    expect(real.stderr()).toContain('keep-alive-on-failure ended (stopped)');
    expect(alive(pid)).toBe(false);
    expect(code, real.stderr()).toBe(1);
    const xml = readFileSync(real.junitPath, 'utf8');
    validateJunit(xml);
    expect(xml).toMatch(/<failure message="console domU1: waiting for \/this-line-never-appears\/lm: deadline passed after 5\.\d s; last lines of domU1:/);
    expect(xml).toContain('xen-pvh-virtio: domU shell ready');
    // A product failure is never retried.
    expect(real.stderr()).not.toContain('retrying once');
  });

  it('killing QEMU mid-scenario is an infrastructure error within seconds, retried once on a fresh boot that passes', { timeout: 10 * 60_000 }, async () => {
    const file = join(scratch(), 'killed.yaml');
    writeFileSync(
      file,
      `name: killed
domains:
  domU1: { vpl011: true }
steps:
  - wait: { console: dom0, for: shell, timeout: 5m }
  - wait: { console: domU1, for: shell, timeout: 5m }
  - console: { domain: domU1, run: "sleep 8; echo still-here", expect: "still-here", timeout: 2m }
`,
    );
    const run = startCli(['run', file]);
    await run.waitFor(shellsUp, 5 * 60_000);
    const pid = Number(readFileSync(join(run.logsDir, 'qemu.pid'), 'utf8'));
    expect(pid).toBeGreaterThan(1);
    const killedAt = Date.now();
    process.kill(pid, 'SIGKILL');
    await run.waitFor(/killed: infrastructure error in "[^"]+" \(.*\); retrying once on a fresh boot/, 10_000);
    expect(Date.now() - killedAt).toBeLessThan(10_000);
    const { code } = await run.done;
    expect(code, run.stderr()).toBe(0);
    const xml = readFileSync(run.junitPath, 'utf8');
    validateJunit(xml);
    // The reported attempt passed; the first one stays visible as a property and on its step.
    expect(xml).toMatch(/<testsuite name="killed" [^\n]* tests="3" failures="0" errors="0"/);
    expect(xml).toMatch(/<property name="retry.killed" value="2 attempts; attempt 1: error in &quot;[^"]+&quot;: [^"]*(closed|ended|exited)/);
    expect(xml).toContain('attempt 1 of 2 ended in error here after');
    expect(xml).toContain('still-here');
    expect(readFileSync(join(run.logsDir, 'summary.md'), 'utf8')).toMatch(/↻ \*\*killed\*\* was retried once on a fresh boot: attempt 1 ended in error/);
    const retryPid = Number(readFileSync(join(run.logsDir, 'boot-2', 'qemu.pid'), 'utf8'));
    expect(retryPid).not.toBe(pid);
    expect(alive(retryPid)).toBe(false);
  });

  it('SIGTERM to the CLI stops QEMU, leaves no process behind and still writes the report', { timeout: 10 * 60_000 }, async () => {
    const run = startCli(['run', scenario(scratch(), 'cancelled', 'never-ever', '5m')]);
    await run.waitFor(shellsUp, 5 * 60_000);
    const pid = Number(readFileSync(join(run.logsDir, 'qemu.pid'), 'utf8'));
    expect(alive(pid)).toBe(true);
    const sentAt = Date.now();
    run.child.kill('SIGTERM');
    const { at } = await run.done;
    expect(at - sentAt, run.stderr()).toBeLessThan(15_000);
    expect(alive(pid)).toBe(false);
    const xml = readFileSync(run.junitPath, 'utf8');
    validateJunit(xml);
    expect(xml).toContain('cancelled (SIGTERM)');
    // A cancel is never retried.
    expect(run.stderr()).not.toContain('retrying once');
    expect(xml).not.toContain('retry.');
  });
});
