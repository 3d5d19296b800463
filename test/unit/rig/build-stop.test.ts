// A build step ends when the run stops (its deadline or a cancel), not when make is done.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runLogged } from '../../../src/rig/build/component.js';
import { run } from '../../../src/host/exec.js';
import { withStop } from '../../../src/host/stop.js';
import { InfraError } from '../../../src/errors.js';

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe('the run stop reaches build steps', () => {
  it('kills a running step at once and says why, in the error and at the end of its log', async () => {
    const logFile = join(mkdtempSync(join(tmpdir(), 'xpv-stop-')), 'build.log');
    const halt = new AbortController();
    const t0 = Date.now();
    setTimeout(() => halt.abort('timeout-minutes (1) passed'), 300);
    const step = withStop(halt.signal, () => runLogged('sh', ['-c', 'echo $$; exec sleep 30'], { logFile, header: 'sleep\n' }, () => undefined, 60_000));
    const error = await step.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(InfraError);
    expect((error as Error).message).toBe('timeout-minutes (1) passed');
    expect(Date.now() - t0).toBeLessThan(5_000);
    const log = readFileSync(logFile, 'utf8');
    expect(log).toMatch(/\(stopped: timeout-minutes \(1\) passed\)\n$/);
    expect(alive(Number(log.split('\n')[1]))).toBe(false);
  });

  it('starts nothing once the run has stopped', async () => {
    const halt = new AbortController();
    halt.abort('cancelled (SIGTERM)');
    await expect(withStop(halt.signal, () => run('true', []))).rejects.toThrow('cancelled (SIGTERM)');
    // Outside the stage, commands run as ever.
    await expect(run('true', [])).resolves.toMatchObject({ exitCode: 0 });
  });
});
