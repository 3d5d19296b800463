// Finding 1: the cache directory is the user's, and it reaches apt's configuration file.
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../../src/errors.js';
import { PrivateApt, aptQuoted } from '../../../src/rig/debian/apt.js';

describe("the private apt's configuration", () => {
  it('refuses a cache directory that would add apt options (no command runs)', async () => {
    const base = mkdtempSync(join(tmpdir(), 'xpv-apt-inject-'));
    const marker = join(base, 'pwned');
    // `";` ends apt's quoted string; what follows becomes options of its own.
    const cacheDir = join(base, `c";APT::Update::Pre-Invoke:: "touch ${marker}";Dir::Log "x`);
    const apt = new PrivateApt(cacheDir, { mirror: 'file:/nonexistent-xpv-mirror', suite: 'bookworm', components: ['main'], arch: 'arm64' });
    const err = await apt.ensureLists(0, () => undefined).then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).toMatch(/contains "\\"", which apt's configuration cannot hold: choose another cache-dir/);
    expect(existsSync(marker)).toBe(false);
  });

  it('writes every ordinary path character so that apt reads back exactly that path', async () => {
    const cacheDir = mkdtempSync(join(tmpdir(), "xpv apt #;{}'$é,"));
    const apt = new PrivateApt(cacheDir, { mirror: 'file:/nonexistent-xpv-mirror', suite: 'bookworm', components: ['main'], arch: 'arm64' });
    // The lists cannot be fetched from a closed port; the configuration is written before that.
    await apt.ensureLists(0, () => undefined).catch(() => undefined);
    const conf = join(apt.root, 'apt.conf');
    expect(readFileSync(conf, 'utf8')).toContain(`Dir::Log "${join(apt.root, 'log')}";`);
    const dump = spawnSync('apt-config', ['dump'], { env: { ...process.env, APT_CONFIG: conf }, encoding: 'utf8' });
    expect(dump.stderr).not.toMatch(/^E:/m);
    expect(dump.stdout).toContain(`Dir::Log "${join(apt.root, 'log')}";`);
  });

  it('refuses quotes, backslashes and control characters, and nothing else', () => {
    for (const bad of ['a"b', 'a\\b', 'a\nb', 'a\u0000b', 'a\u007fb']) expect(() => aptQuoted(bad)).toThrow(ConfigError);
    expect(aptQuoted('/a b/#;{}%22')).toBe('"/a b/#;{}%22"');
  });
});
