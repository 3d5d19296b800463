// timeout-minutes bounds the whole run, the rig build included: a build still running at the
// deadline is stopped there (its make or ninja killed), and the run ends with its report.
import { readFileSync, writeFileSync, mkdtempSync, readdirSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { validateJunit } from '../../support/junit.js';
import { isolatedCache, startCli } from '../../support/cli.js';

describe('timeout-minutes and the rig build', () => {
  it('stops a QEMU build still running at the deadline and reports the scenarios as errored', { timeout: 5 * 60_000 }, async () => {
    // A patch that only adds a file applies to any tree, and gives QEMU a key no cache holds:
    // the backend QEMU is built (about 2.5 min here), which outlasts a one-minute run.
    const dir = mkdtempSync(join(tmpdir(), 'xpv-timeout-'));
    const patch = join(dir, 'marker.patch');
    writeFileSync(
      patch,
      [
        'Adds a file, so that this QEMU has a key of its own.',
        '',
        '--- /dev/null',
        '+++ b/xen-pvh-virtio-timeout-test.txt',
        '@@ -0,0 +1 @@',
        `+${dir}`,
        '',
      ].join('\n'),
    );
    const cache = isolatedCache();
    const run = startCli(['run', 'boot-smoke', '--qemu-patches', patch, '--timeout-minutes', '1', '--cache-dir', cache]);
    const t0 = Date.now();
    const { code, at } = await run.done;
    expect(code, run.stderr()).toBe(3);
    // The deadline counts from the run's start; the stop and the report take seconds.
    expect(at - t0, run.stderr()).toBeLessThan(100_000);
    expect(run.stderr()).toMatch(/qemu: ninja/);
    const xml = readFileSync(run.junitPath, 'utf8');
    validateJunit(xml);
    expect(xml).toMatch(/<error message="timeout-minutes \(1\) passed/);
    // The killed step's log says why it ended.
    const work = join(cache, 'work');
    const logs = existsSync(work) ? readdirSync(work).filter((d) => d.startsWith('qemu-')).map((d) => join(work, d, 'logs', 'build.log')).filter((f) => existsSync(f)) : [];
    expect(logs.some((f) => /\(stopped: timeout-minutes \(1\) passed\)\n$/.test(readFileSync(f, 'utf8'))), logs.join(', ')).toBe(true);
  });
});
