// Faults in what a run is given: a malformed scenario (exit 2 naming file:line:column before
// anything boots) and a damaged rig bundle (named file by file; the cache repairs itself).
import { execFile } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { defaultCacheDir } from '../../../src/rig/index.js';
import { ROOT, startCli } from '../../support/cli.js';

interface Cli {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

function cli(args: string[]): Promise<Cli> {
  const t0 = Date.now();
  return new Promise((resolve) => {
    execFile(process.execPath, [join(ROOT, 'dist/cli.js'), ...args], { cwd: ROOT, timeout: 5 * 60_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : null) : 0;
      resolve({ code, stdout, stderr, ms: Date.now() - t0 });
    });
  });
}

describe('faults in the input', () => {
  it('a malformed scenario is exit 2 naming file:line:column, within seconds, and nothing boots', { timeout: 60_000 }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'xpv-malformed-'));
    const file = join(dir, 'broken.yaml');
    writeFileSync(file, 'name: broken\nsteps:\n  - wait: { console: dom0, for: shell, timeout: 5m }\n  - console: { domain: domU1, run: "true", timeout: soon }\n');
    const t0 = Date.now();
    const run = startCli(['run', file]);
    const { code, at } = await run.done;
    expect(at - t0).toBeLessThan(15_000);
    expect(code).toBe(2);
    expect(run.stderr()).toContain(`error: ${file}:4:53: timeout: expected a duration like 300s or 5m, got "soon"`);
    expect(run.stderr()).not.toContain('booting');
    expect(existsSync(join(run.logsDir, 'qemu.pid'))).toBe(false);
  });

  it('a damaged cached rig is named file by file; verify changes nothing, build repairs it', { timeout: 10 * 60_000 }, async () => {
    const shared = defaultCacheDir();
    const built = await cli(['rig', 'verify']);
    expect(built.code, built.stderr).toBe(0);
    const bundle = built.stdout.trim();
    const key = bundle.split('/').pop()!;
    // A cache of our own holding a copy of the bundle; the component and package caches are
    // shared read-mostly (content-addressed), so a repair reassembles rather than recompiles.
    const cache = mkdtempSync(join(tmpdir(), 'xpv-damaged-cache-'));
    onTestFinished(() => rmSync(cache, { recursive: true, force: true }));
    for (const d of ['apt', 'components', 'sources', 'tools']) if (existsSync(join(shared, d))) symlinkSync(join(shared, d), join(cache, d));
    mkdirSync(join(cache, 'rigs'));
    cpSync(bundle, join(cache, 'rigs', key), { recursive: true });
    const kernel = join(cache, 'rigs', key, 'Image');
    const bytes = readFileSync(kernel);
    bytes[4096] = bytes[4096]! ^ 0xff;
    writeFileSync(kernel, bytes);

    const verify = await cli(['rig', 'verify', '--cache-dir', cache]);
    expect(verify.code, verify.stderr).toBe(3);
    expect(verify.stderr).toMatch(new RegExp(`infrastructure error: rig bundle ${cache}/rigs/${key} is damaged:\\n  Image \\(kernel\\) has sha256 [0-9a-f]{64}, manifest says [0-9a-f]{64}\\n`));
    expect(verify.ms).toBeLessThan(60_000);
    // verify only reports: the damaged file is still there to be looked at.
    expect(readFileSync(kernel).equals(bytes)).toBe(true);

    const repair = await cli(['rig', 'build', '--cache-dir', cache]);
    expect(repair.code, repair.stderr).toBe(0);
    expect(repair.stderr).toMatch(/warning: discarding the damaged cached rig and rebuilding it: rig bundle \S+ is damaged:\n {2}Image \(kernel\) has sha256/);
    expect(repair.stderr).toContain(`rig ${key} (built)`);
    const again = await cli(['rig', 'verify', '--cache-dir', cache]);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).toMatch(/intact: \d+ files match the manifest/);
  });
});
