// Where published rigs are looked for, and what a checksum list says: pure rules; then
// fetchPublished against loopback servers laid out like release assets, with real tarballs.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../../src/errors.js';
import { checkMirror, CHECKSUMS_FILE, fetchPublished, parseChecksums, PublishedRefused, publishedSource, RELEASE_REPOSITORY } from '../../../src/rig/published.js';

const base = { download: true, mirrorLabel: '--rig-mirror', env: {}, version: '1.2.3' };

describe('publishedSource', () => {
  it("looks in the running action's own release, on the runner's server", () => {
    const env = { GITHUB_ACTION_REPOSITORY: 'acme/xen-pvh-virtio-action', GITHUB_ACTION_REF: 'v1.4.0' };
    expect(publishedSource({ ...base, env })).toEqual({
      url: 'https://github.com/acme/xen-pvh-virtio-action/releases/download/v1.4.0/',
      via: 'the release v1.4.0 of acme/xen-pvh-virtio-action',
    });
    expect(publishedSource({ ...base, env: { ...env, GITHUB_SERVER_URL: 'https://ghe.example.com' } }).url).toBe(
      'https://ghe.example.com/acme/xen-pvh-virtio-action/releases/download/v1.4.0/',
    );
    // A ref is a path segment, never more; a server that is not plain https is not used.
    expect(publishedSource({ ...base, env: { ...env, GITHUB_ACTION_REF: '../../x?y' } }).url).toBe(
      'https://github.com/acme/xen-pvh-virtio-action/releases/download/..%2F..%2Fx%3Fy/',
    );
    expect(publishedSource({ ...base, env: { ...env, GITHUB_SERVER_URL: 'http://evil.example' } }).url).toMatch(/^https:\/\/github\.com\//);
    expect(publishedSource({ ...base, env: { ...env, GITHUB_ACTION_REPOSITORY: 'a/b/../c' } })).toEqual({ via: 'GITHUB_ACTION_REPOSITORY is not owner/name: a/b/../c' });
  });

  it("looks in the CLI's own version's release, or the mirror, or nowhere when told", () => {
    expect(publishedSource(base).url).toBe(`https://github.com/${RELEASE_REPOSITORY}/releases/download/v1.2.3/`);
    expect(publishedSource({ ...base, mirror: 'https://rigs.example.com/xpv' })).toEqual({ url: 'https://rigs.example.com/xpv/', via: 'the mirror https://rigs.example.com/xpv' });
    expect(publishedSource({ ...base, download: false })).toEqual({ via: 'rig-download is false' });
  });
});

describe('checkMirror', () => {
  it('takes https anywhere and http only on this machine, never credentials', () => {
    expect(checkMirror('http://127.0.0.1:8080/r', '--rig-mirror').href).toBe('http://127.0.0.1:8080/r/');
    expect(() => checkMirror('http://rigs.example.com/', '--rig-mirror')).toThrow(ConfigError);
    expect(() => checkMirror('http://rigs.example.com/', '--rig-mirror')).toThrow('--rig-mirror: published rigs are fetched over https only (http only from this machine), got http://rigs.example.com');
    expect(() => checkMirror('https://u:secret@rigs.example.com/', '--rig-mirror')).toThrow('credentials in the URL would reach logs');
    expect(() => checkMirror('ftp://x/', '--rig-mirror')).toThrow(ConfigError);
    expect(() => checkMirror('not a url', '--rig-mirror')).toThrow('--rig-mirror: not a URL: not a url');
  });
});

describe('parseChecksums', () => {
  it("reads sha256sum's text and binary lines and ignores the rest", () => {
    const a = 'a'.repeat(64);
    const b = 'b'.repeat(64);
    const sums = parseChecksums(`${a}  one.tar.gz\n${b} *two.tar.gz\nnot a line\n${'c'.repeat(63)}  short.tar.gz\n`);
    expect([...sums]).toEqual([['one.tar.gz', a], ['two.tar.gz', b]]);
  });
});

describe('fetchPublished', () => {
  const root = mkdtempSync(join(tmpdir(), 'published-'));
  const servers: Server[] = [];
  afterAll(async () => {
    for (const s of servers) await new Promise((done) => s.close(done));
    rmSync(root, { recursive: true, force: true });
  });
  const sha = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');
  const key = 'f'.repeat(64);

  /** A release directory holding <key>.tar.gz of one small bundle (plus `extra` tar arguments) and its SHA256SUMS. */
  function release(name: string, extra: string[] = []): string {
    const bundle = join(root, `${name}-bundle`);
    mkdirSync(bundle);
    writeFileSync(join(bundle, 'Image'), 'kernel\n');
    const file = { role: 'kernel', path: 'Image', sha256: sha('kernel\n'), size: 7, origin: {} };
    writeFileSync(join(bundle, 'manifest.json'), JSON.stringify({ schemaVersion: 1, provider: 'debian', key, createdAt: '', versions: {}, files: [file], capabilities: [], notes: [] }));
    const dir = join(root, name);
    mkdirSync(dir);
    execFileSync('tar', ['-czf', join(dir, `${key}.tar.gz`), '-C', bundle, 'manifest.json', 'Image', ...extra]);
    writeFileSync(join(dir, CHECKSUMS_FILE), `${sha(readFileSync(join(dir, `${key}.tar.gz`)))}  ${key}.tar.gz\n`);
    return dir;
  }

  /** Serves dir; every path first redirects to a second server (another origin), as GitHub sends release downloads to its asset host. */
  async function serveRedirected(dir: string): Promise<string> {
    const listen = async (handler: Parameters<typeof createServer>[1]) => {
      const s = createServer(handler);
      servers.push(s);
      await new Promise<void>((done) => s.listen(0, '127.0.0.1', done));
      return `http://127.0.0.1:${(s.address() as { port: number }).port}`;
    };
    const assets = await listen((req, res) => {
      try {
        res.writeHead(200).end(readFileSync(join(dir, new URL(req.url!, 'http://x').pathname)));
      } catch {
        res.writeHead(404).end();
      }
    });
    return `${await listen((req, res) => res.writeHead(302, { location: `${assets}${req.url}` }).end())}/`;
  }

  it('takes a sound bundle, following the redirect to the asset host', async () => {
    const url = await serveRedirected(release('sound'));
    const into = join(root, 'sound-into');
    mkdirSync(into);
    const manifest = await fetchPublished(key, { url, via: 'a test mirror' }, into, join(root, 'sound-staging'), () => undefined);
    expect(manifest.key).toBe(key);
    expect(readdirSync(into)).toEqual(['Image']);
  });

  it('refuses a tarball holding a device node, with the reason', async () => {
    const url = await serveRedirected(release('device', ['-C', '/', 'dev/null']));
    const got = fetchPublished(key, { url, via: 'a test mirror' }, join(root, 'device-into'), join(root, 'device-staging'), () => undefined);
    await expect(got).rejects.toThrow(PublishedRefused);
    await expect(got).rejects.toThrow(`${key}.tar.gz is not a sound bundle: "dev/null" is a character device`);
  });
});
