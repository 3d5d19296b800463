// The yocto provider's step runner with real processes: output kept in the log, a failing
// step named with its last lines, and a deadline that kills the step's whole process group.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { InfraError } from '../../../src/errors.js';
import { runStep } from '../../../src/rig/yocto/steps.js';
import { alive } from '../../support/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'yocto-steps-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const lines: string[] = [];
const opts = (timeoutMs = 30_000) => ({ logFile: join(dir, 'build.log'), timeoutMs, log: (l: string) => lines.push(l) });

describe('runStep', () => {
  it('appends the output to the log and passes the environment', async () => {
    await runStep({ purpose: 'greeting', argv: ['sh', '-c', 'echo "hello $WHO"', 'sh'], env: { WHO: 'yocto' } }, opts());
    expect(readFileSync(join(dir, 'build.log'), 'utf8')).toMatch(/== greeting: sh -c .*\nhello yocto\n/);
    expect(lines.some((l) => /^greeting: done in \d+ s$/.test(l))).toBe(true);
  });

  it('fails with the exit code and the last lines', async () => {
    const step = runStep({ purpose: 'dom0 image', argv: ['sh', '-c', 'echo "ERROR: Task do_fetch failed"; exit 3'], env: {} }, opts());
    await expect(step).rejects.toThrow(InfraError);
    await expect(step).rejects.toThrow(/dom0 image: sh -c .* exited with 3\. Last output:\nERROR: Task do_fetch failed/);
  });

  it('names a command that does not exist', async () => {
    await expect(runStep({ purpose: 'SDK', argv: ['no-such-kas-here'], env: {} }, opts())).rejects.toThrow(/SDK: cannot start no-such-kas-here: spawn no-such-kas-here ENOENT/);
  });

  it('kills the whole process group when the deadline passes', async () => {
    const pidFile = join(dir, 'grandchild.pid');
    const started = Date.now();
    await expect(
      runStep({ purpose: 'stuck fetch', argv: ['sh', '-c', 'sleep 120 & echo $! > "$1"; echo waiting; wait', 'sh', pidFile], env: {} }, opts(1500)),
    ).rejects.toThrow(/stuck fetch: sh did not finish within 2 s; killed\. Last output:\nwaiting/);
    expect(Date.now() - started).toBeLessThan(15_000);
    expect(existsSync(pidFile)).toBe(true);
    const grandchild = Number(readFileSync(pidFile, 'utf8'));
    // SIGKILL is delivered at once, but give the kernel a moment to reap under load.
    for (let i = 0; i < 50 && alive(grandchild); i++) await new Promise((r) => setTimeout(r, 100));
    expect(alive(grandchild)).toBe(false);
  });
});
