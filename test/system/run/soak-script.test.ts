// npm run soak: the seed (here boot-smoke, for time) under busy loops on every core, counted.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT, isolatedCache } from '../../support/cli.js';

const soak = (args: string[]) =>
  spawnSync(process.execPath, [join(ROOT, 'scripts/soak.mjs'), ...args], { cwd: ROOT, encoding: 'utf8', timeout: 15 * 60_000 });

describe('npm run soak', () => {
  it('counts passes and failure classes under load, keeping only the failed runs’ logs', { timeout: 20 * 60_000 }, () => {
    const cache = isolatedCache();
    const out = mkdtempSync(join(tmpdir(), 'xpv-soak-test-'));
    const ok = soak(['2', '--out', join(out, 'ok'), 'boot-smoke', '--', '--cache-dir', cache]);
    expect(ok.status, ok.stdout + ok.stderr).toBe(0);
    expect(ok.stdout).toMatch(/^run 1\/2: passed in [\d.]+ s, \d+ line\(s\) retyped$/m);
    expect(ok.stdout).toMatch(/^soak: 2 of 2 passed \(boot-smoke, \d+ busy loops? on \d+ cores\)$/m);
    expect(ok.stdout).toMatch(/^typed lines retyped: \d+ in all, in \d+ run\(s\)$/m);
    expect(readdirSync(join(out, 'ok'))).toEqual([]);

    const failing = join(out, 'fails.yaml');
    writeFileSync(failing, 'name: fails\ndomains:\n  domU1: { vpl011: true }\nsteps:\n  - console: { domain: domU1, run: echo no, expect: "^yes$", timeout: 20s }\n');
    const bad = soak(['1', '--hog', '1', '--out', join(out, 'bad'), failing, '--', '--cache-dir', cache]);
    expect(bad.status, bad.stdout + bad.stderr).toBe(1);
    expect(bad.stdout).toMatch(/^soak: 0 of 1 passed \(.*fails\.yaml, 1 busy loop on \d+ cores\)$/m);
    expect(bad.stdout).toMatch(/^ {2}1 × exit 1: failure in "domU1: echo no"/m);
    expect(existsSync(join(out, 'bad', 'run-1', 'junit.xml'))).toBe(true);
    expect(existsSync(join(out, 'bad', 'run-1', 'logs', 'console-domU1.log'))).toBe(true);
  });
});
