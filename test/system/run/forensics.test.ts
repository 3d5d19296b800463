// Forensics on the real stack: a scenario whose last step fails leaves dom0's and Xen's view
// of the machine next to the logs, the JUnit failure points at it, and the run stays in budget.
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { validateJunit } from '../../support/junit.js';
import { startCli } from '../../support/cli.js';

function failingScenario(): string {
  const file = join(mkdtempSync(join(tmpdir(), 'xpv-forensics-')), 'last-step-fails.yaml');
  writeFileSync(
    file,
    `name: last-step-fails
domains:
  domU1: { vpl011: true }
steps:
  - wait: { console: dom0, for: shell, timeout: 5m }
  - wait: { console: domU1, for: shell, timeout: 5m }
  - console: { domain: domU1, run: "echo hello", expect: "goodbye" }
`,
  );
  return file;
}

describe('forensics after a failed step', () => {
  it('collects dom0, Xen and host evidence within budget and names it in the JUnit failure', { timeout: 10 * 60_000 }, async () => {
    const run = startCli(['run', failingScenario()]);
    await run.waitFor(/\[3\/3\] FAIL/, 5 * 60_000);
    const failedAt = Date.now();
    const { code, at } = await run.done;
    expect(code, run.stderr()).toBe(1);
    // The forensics budget is 60 s; on this machine it takes about 10 s.
    expect(at - failedAt, run.stderr()).toBeLessThan(75_000);

    const dir = join(run.logsDir, 'forensics', 'last-step-fails');
    const read = (file: string) => readFileSync(join(dir, file), 'utf8');
    expect(readdirSync(dir)).toEqual(
      expect.arrayContaining(['index.txt', 'xl-list.txt', 'xl-dmesg.txt', 'xenstore-ls.txt', 'dom0-dmesg.txt', 'dom0-ps.txt']),
    );
    expect(read('xl-list.txt')).toMatch(/^Domain-0 +0 /m);
    expect(read('xl-list.txt')).toMatch(/^dom0less-1 +1 /m);
    expect(read('xl-dmesg.txt')).toMatch(/^\(XEN\) /m);
    expect(read('xenstore-ls.txt')).toContain('/local/domain/0');
    expect(read('dom0-dmesg.txt')).toContain('Linux version');
    expect(read('dom0-ps.txt')).toMatch(/PID +USER +COMMAND/);

    // Xen's own view, through debug keys typed while Xen held the serial input.
    expect(read('xen-key-q-domains.txt')).toMatch(/^\(XEN\) 'q' pressed -> dumping domain info/);
    expect(read('xen-key-q-domains.txt')).toContain('General information for domain 1:');
    expect(read('xen-key-r-run-queues.txt')).toMatch(/^\(XEN\) sched_smt_power_savings: /);
    expect(read('xen-key-r-run-queues.txt')).toContain('Scheduler: ');
    expect(read('xen-key-0-dom0-registers.txt')).toMatch(/^\(XEN\) '0' pressed -> dumping Dom0's registers/);
    expect(read('xen-key-a-timer-queues.txt')).toMatch(/Dumping timer queues:\n\(XEN\) CPU00:\n\(XEN\)\s+ex=\s*-?\d+us timer=/);
    expect(read('index.txt')).not.toContain('not collected');
    // Input went back to dom0 afterwards.
    const banners = readFileSync(join(run.logsDir, 'console-xen.log'), 'utf8').match(/Serial input to \S+/g) ?? [];
    expect(banners.slice(-2)).toEqual(['Serial input to Xen', 'Serial input to DOM0']);

    const xml = readFileSync(run.junitPath, 'utf8');
    validateJunit(xml);
    expect(xml).toMatch(/<failure message="[^"]*Expected pattern: \/goodbye\/lm[^"]*&#xA;forensics: forensics\/last-step-fails"/);
  });
});
