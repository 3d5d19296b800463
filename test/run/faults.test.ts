// Faults on the real stack: a wait that never comes, QEMU dying mid-scenario, and a
// SIGTERM to the CLI. Each must end promptly, in the right class, with the evidence.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { validateJunit } from '../support/junit.js';
import { alive, startCli } from '../support/cli.js';

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
  it('an expectation that never comes fails at its deadline with the console tail', { timeout: 10 * 60_000 }, async () => {
    const real = startCli(['run', scenario(scratch(), 'never', 'this-line-never-appears', '5s')]);
    await real.waitFor(shellsUp, 5 * 60_000);
    const shellsAt = Date.now();
    const { code, at } = await real.done;
    expect(code, real.stderr()).toBe(1);
    expect(at - shellsAt).toBeGreaterThan(4_000);
    expect(at - shellsAt).toBeLessThan(30_000);
    const xml = readFileSync(real.junitPath, 'utf8');
    validateJunit(xml);
    expect(xml).toMatch(/<failure message="console domU1: waiting for \/this-line-never-appears\/m: deadline passed after 5\.\d s; last lines of domU1:/);
    expect(xml).toContain('xen-pvh-virtio: domU shell ready');
  });

  it('killing QEMU mid-scenario ends the run within seconds as an infrastructure error', { timeout: 10 * 60_000 }, async () => {
    const run = startCli(['run', scenario(scratch(), 'killed', 'never-ever', '5m')]);
    await run.waitFor(shellsUp, 5 * 60_000);
    const pid = Number(readFileSync(join(run.logsDir, 'qemu.pid'), 'utf8'));
    const killedAt = Date.now();
    process.kill(pid, 'SIGKILL');
    const { code, at } = await run.done;
    expect(at - killedAt, run.stderr()).toBeLessThan(10_000);
    expect(code).toBe(3);
    const xml = readFileSync(run.junitPath, 'utf8');
    validateJunit(xml);
    expect(xml).toMatch(/<error message="console domU1: waiting for \/never-ever\/m: [^"]*(closed|ended|exited)/);
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
  });
});
