// How rig-path is read: which spellings mean a directory, a tarball or a URL, and which are refused.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../../src/errors.js';
import { locateBundle } from '../../../src/rig/prebuilt/location.js';

const dir = mkdtempSync(join(tmpdir(), 'rig-path-'));
mkdirSync(join(dir, 'bundle'));
writeFileSync(join(dir, 'rig.tar.gz'), '');
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const label = 'input `rig-path`';

describe('locateBundle', () => {
  it('reads local paths, relative ones against the working directory, and file:// URLs', async () => {
    expect(await locateBundle(join(dir, 'bundle'), label)).toEqual({ kind: 'dir', path: join(dir, 'bundle') });
    expect(await locateBundle('rig.tar.gz', label, dir)).toEqual({ kind: 'tarball', path: join(dir, 'rig.tar.gz') });
    expect(await locateBundle(`file://${dir}/bundle`, label)).toEqual({ kind: 'dir', path: join(dir, 'bundle') });
  });

  it('tells a tarball URL from a bundle directory URL', async () => {
    const at = async (u: string) => {
      const got = await locateBundle(u, label);
      return 'url' in got ? `${got.kind} ${got.url.href}` : got.kind;
    };
    expect(await at('https://example.org/rigs/x.tar.gz')).toBe('url-tarball https://example.org/rigs/x.tar.gz');
    expect(await at('http://127.0.0.1:8080/x.tgz?sig=1')).toBe('url-tarball http://127.0.0.1:8080/x.tgz?sig=1');
    expect(await at('https://example.org/rigs/x/')).toBe('url-dir https://example.org/rigs/x/');
    expect(await at('https://example.org/rigs/x')).toBe('url-dir https://example.org/rigs/x/');
    expect(await at('https://example.org/rigs/x/manifest.json')).toBe('url-dir https://example.org/rigs/x/');
  });

  it('names the input for what it cannot use', async () => {
    await expect(locateBundle(join(dir, 'missing'), label)).rejects.toThrow(ConfigError);
    await expect(locateBundle(join(dir, 'missing'), label)).rejects.toThrow(`input \`rig-path\`: ${join(dir, 'missing')} does not exist`);
    await expect(locateBundle('ftp://example.org/x.tar.gz', label)).rejects.toThrow('input `rig-path`: unsupported URL scheme in "ftp://example.org/x.tar.gz"');
    await expect(locateBundle('/dev/null', label)).rejects.toThrow('input `rig-path`: /dev/null is neither a directory nor a tarball');
  });
});
