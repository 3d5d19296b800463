// Product faults on the real stack: the backend QEMU killed in dom0 while domU waits, and a
// domU kernel panic. Each is a <failure> (exit 1) detected within seconds, never retried, with
// the evidence in the JUnit message. The panic run also keeps its machine up for a developer
// (keep-alive-on-failure): the printed SSH command and the serial socket both work, and the
// wait ends by itself with nothing left running.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { validateJunit } from '../../support/junit.js';
import { alive, startCli } from '../../support/cli.js';

const run$ = promisify(execFile);
const scratch = () => mkdtempSync(join(tmpdir(), 'xpv-product-'));

function scenarioFile(name: string, text: string): string {
  const file = join(scratch(), `${name}.yaml`);
  writeFileSync(file, text);
  return file;
}

describe('product faults on the real stack', () => {
  it('killing the backend QEMU in dom0 fails the scenario within seconds with the backend log tail', { timeout: 10 * 60_000 }, async () => {
    const file = scenarioFile(
      'backend-killed',
      `name: backend-killed
requires: [dom0less, xen-tools, ssh, ioreq, trap-unmapped-accesses, qemu-xenpvh-pci]
domains:
  domU1: { memory: 1024M, cpus: 1, vpl011: true, virtio-pci: foreign }
steps:
  - wait: { console: dom0, for: shell, timeout: 5m }
  - wait: { console: domU1, for: shell, timeout: 5m }
  - backend: { domain: domU1, devices: [virtio-net], ready: ioreq, timeout: 2m }
  - wait: { console: domU1, for: "this-line-never-appears", timeout: 5m }
`,
    );
    const run = startCli(['run', file]);
    await run.waitFor(/\[3\/4\] ok/, 6 * 60_000);
    const port = /ssh on 127\.0\.0\.1:(\d+)/.exec(run.stderr())![1]!;
    const key = run.runKey();
    // From the host, as an outside fault: the harness's own SSH session is not involved.
    await run$('ssh', ['-i', key, '-p', port, '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'BatchMode=yes',
      'root@127.0.0.1', 'kill -9 $(pidof qemu-system-aarch64)'], { timeout: 30_000 });
    const killedAt = Date.now();
    await run.waitFor(/\[4\/4\] FAIL/, 30_000);
    expect(Date.now() - killedAt, run.stderr()).toBeLessThan(10_000);
    const { code } = await run.done;
    expect(code, run.stderr()).toBe(1);
    expect(run.stderr()).not.toContain('retrying once');
    const xml = readFileSync(run.junitPath, 'utf8');
    validateJunit(xml);
    expect(xml).toMatch(/<testsuite name="backend-killed" [^\n]* tests="4" failures="1" errors="0"/);
    const failure = /<failure message="([^"]*)" type="wait"/.exec(xml)?.[1] ?? '';
    expect(failure).toMatch(/^backend-domU1 [^&]*(KILL|137)/);
    // The backend's own last lines: its IOREQ trace from the start.
    expect(failure).toMatch(/&#xA;.*xen_/);
  });

  it('a domU kernel panic fails within seconds with the panic lines; keep-alive then leaves the machine reachable', { timeout: 10 * 60_000 }, async () => {
    const file = scenarioFile(
      'domu-panic',
      `name: domu-panic
domains:
  domU1: { vpl011: true }
steps:
  - wait: { console: dom0, for: shell, timeout: 5m }
  - wait: { console: domU1, for: shell, timeout: 5m }
  - console: { domain: domU1, run: "echo c > /proc/sysrq-trigger", timeout: 5m }
`,
    );
    const run = startCli(['run', file, '--keep-alive-on-failure', '20s']);
    await run.waitFor(/\[2\/3\] ok/, 5 * 60_000);
    const typedAt = Date.now();
    await run.waitFor(/\[3\/3\] FAIL/, 60_000);
    // Typing the command paced for the domU's FIFO, the panic, and the grace for its trace.
    expect(Date.now() - typedAt, run.stderr()).toBeLessThan(15_000);

    await run.waitFor(/keep-alive-on-failure: the machine stays up for 20\.0s[\s\S]*serial console: /, 90_000);
    const keptAt = Date.now();
    const ssh = /dom0 over SSH: (ssh .*)$/m.exec(run.stderr())![1]!;
    const socket = /serial console: (\S+) \(e\.g\. socat/.exec(run.stderr())![1]!;
    // The printed command, pasted into a shell as a developer would.
    const { stdout } = await run$('bash', ['-c', `${ssh} xl list`], { timeout: 15_000 });
    expect(stdout).toMatch(/^Domain-0 +0 /m);
    expect(statSync(socket).isSocket()).toBe(true);
    // The harness let go of the serial port: a new client gets dom0's shell answering.
    const answer = await new Promise<string>((resolve, reject) => {
      const s = createConnection(socket);
      let got = '';
      const timer = setTimeout(() => {
        s.destroy();
        resolve(got);
      }, 5_000);
      s.on('connect', () => s.write('echo serial-$((6*7))\n'));
      s.on('data', (c: Buffer) => {
        got += c.toString('latin1');
        if (got.includes('serial-42')) {
          clearTimeout(timer);
          s.destroy();
          resolve(got);
        }
      });
      s.on('error', reject);
    });
    expect(answer).toContain('serial-42');

    const { code, at } = await run.done;
    expect(code, run.stderr()).toBe(1);
    expect(at - keptAt).toBeGreaterThan(10_000);
    expect(at - keptAt, run.stderr()).toBeLessThan(40_000);
    expect(run.stderr()).toContain('keep-alive-on-failure ended (time up)');
    expect(alive(Number(readFileSync(join(run.logsDir, 'qemu.pid'), 'utf8')))).toBe(false);

    const xml = readFileSync(run.junitPath, 'utf8');
    validateJunit(xml);
    expect(xml).toMatch(/<testsuite name="domu-panic" [^\n]* tests="3" failures="1" errors="0"/);
    expect(xml).toMatch(/<failure message="console domU1: [^"]*cut short by kernel panic on domU1: [^"]*Kernel panic - not syncing: sysrq triggered crash/);
    expect(run.stderr()).not.toContain('retrying once');
  });
});
