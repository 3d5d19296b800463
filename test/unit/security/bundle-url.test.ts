// Issue #17, finding 4: a bundle URL and its manifest are untrusted. Manifest paths are plain
// relative paths that stay under the bundle's URL on its origin; redirects to another origin
// are refused; the manifest and every download are bounded; http:// is only for this machine.
// Real loopback servers: one serving bundles, one standing for "another origin".
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { listenLoopback, serveFile, type Loopback } from '../../support/http.js';
import { createServer as createTcpServer, type Server as TcpServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../../src/errors.js';
import { obtainPrebuiltRig, type PrebuiltOptions } from '../../../src/rig/prebuilt/index.js';
import { locateBundle } from '../../../src/rig/prebuilt/location.js';

const log = () => undefined;
const labels = { rigPath: '--rig-path' };
let scratch: string;
let served: string;
let http: Loopback | undefined;
let base: string;
/** Another origin: it only counts who connects. */
let elsewhere: TcpServer;
let elsewherePort: number;
let elsewhereConnections = 0;
const requested: string[] = [];
const sha = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');

interface Listed {
  role: string;
  path: string;
  bytes: Buffer;
}

function manifestOf(files: Listed[], padding = ''): string {
  const list = files.map((f) => ({ role: f.role, path: f.path, sha256: sha(f.bytes), size: f.bytes.length, origin: {} }));
  return JSON.stringify({ schemaVersion: 1, provider: 'debian', key: 'a'.repeat(64), createdAt: '2025-01-01T00:00:00.000Z', versions: {}, files: list, capabilities: [], notes: [], padding });
}

/** Writes a bundle directory under the served root; only files without a slash or dot-dot are written. */
async function serveBundle(name: string, files: Listed[], padding = ''): Promise<void> {
  await mkdir(join(served, name), { recursive: true });
  for (const f of files) if (/^[\w.-]+$/.test(f.path)) await writeFile(join(served, name, f.path), f.bytes);
  await writeFile(join(served, name, 'manifest.json'), manifestOf(files, padding));
}

const kernel = { role: 'kernel', path: 'Image', bytes: Buffer.from('a kernel\n') };
const secret = Buffer.from('a file beside the bundle, not in it\n');

beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'bundle-url-'));
  served = join(scratch, 'served');
  await mkdir(served);
  await writeFile(join(served, 'secret.bin'), secret);
  await serveBundle('b', [kernel]);

  elsewhere = createTcpServer((socket) => {
    elsewhereConnections++;
    socket.destroy();
  });
  await new Promise<void>((res) => elsewhere.listen(0, '127.0.0.1', res));
  elsewherePort = (elsewhere.address() as { port: number }).port;

  http = await listenLoopback((req, res) => {
    const path = new URL(req.url!, 'http://x').pathname;
    requested.push(path);
    if (path.startsWith('/moved/')) return void res.writeHead(302, { location: `http://127.0.0.1:${elsewherePort}/b/${path.slice(7)}` }).end();
    if (path.startsWith('/same/')) return void res.writeHead(302, { location: `/b/${path.slice(6)}` }).end();
    if (path === '/endless/Image') {
      // A server that never stops sending: throttled, so a client without a bound fills no disk.
      res.writeHead(200);
      const chunk = Buffer.alloc(64 * 1024);
      const timer = setInterval(() => res.write(chunk), 10);
      res.on('close', () => clearInterval(timer));
      return;
    }
    serveFile(res, served, path);
  });
  base = http.base;
});

afterAll(async () => {
  await http?.close();
  await new Promise((res) => elsewhere?.close(res));
  await rm(scratch, { recursive: true, force: true });
});

const obtain = async (rigPath: string, opts: Partial<PrebuiltOptions> = {}) =>
  obtainPrebuiltRig({ provider: 'prebuilt', rigPath, labels }, { cacheDir: await mkdtemp(join(scratch, 'cache-')), log, ...opts }, true);

describe('manifest paths of a URL bundle', () => {
  it('are plain relative paths: percent-encoded dot-dot is refused before anything is fetched', async () => {
    await serveBundle('pct', [kernel, { role: 'xen-image', path: '%2e%2e/secret.bin', bytes: secret }]);
    requested.length = 0;
    const got = obtain(`${base}/pct/`);
    await expect(got).rejects.toThrow(ConfigError);
    await expect(got).rejects.toThrow(`--rig-path: ${base}/pct/manifest.json: the manifest lists the file path "%2e%2e/secret.bin", which is not a plain path inside the bundle`);
    expect(requested).toEqual(['/pct/manifest.json']);
  });

  it('never name another origin', async () => {
    for (const path of [`https:127.0.0.1:${elsewherePort}/b/Image`, `//127.0.0.1:${elsewherePort}/b/Image`, 'sub\\..\\..\\secret.bin', '/secret.bin', 'a/../../secret.bin']) {
      await serveBundle('scheme', [kernel, { role: 'xen-image', path, bytes: secret }]);
      await expect(obtain(`${base}/scheme/`), path).rejects.toThrow(`the manifest lists the file path ${JSON.stringify(path)}, which is not a plain path inside the bundle`);
    }
    expect(elsewhereConnections).toBe(0);
  });
});

describe('redirects', () => {
  it('to another origin are refused without connecting there', async () => {
    const got = obtain(`${base}/moved/`);
    await expect(got).rejects.toThrow(ConfigError);
    await expect(got).rejects.toThrow(`--rig-path: ${base}/moved/manifest.json redirects to another origin (http://127.0.0.1:${elsewherePort}); give that URL itself`);
    expect(elsewhereConnections).toBe(0);
  });

  it('on the same origin are followed', async () => {
    const got = await obtain(`${base}/same/`);
    expect(got?.rig.manifest.files.map((f) => f.path)).toEqual(['Image']);
  });
});

describe('sizes', () => {
  it("cut a download off at the manifest's size for that file", async () => {
    await serveBundle('endless', [{ role: 'kernel', path: 'Image', bytes: Buffer.from('ten bytes\n') }]);
    await rm(join(served, 'endless', 'Image'));
    const started = Date.now();
    const got = obtain(`${base}/endless/`, { downloadTimeoutMs: 8000 });
    await expect(got).rejects.toThrow(ConfigError);
    await expect(got).rejects.toThrow(`--rig-path: ${base}/endless/Image sends more than the 10 bytes the manifest lists for Image (kernel)`);
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('bound the manifest', async () => {
    await serveBundle('big-manifest', [kernel], ' '.repeat(2 * 1024 * 1024));
    // Not rejects.toThrow: a rig that was taken would be printed, 2 MiB of manifest and all.
    const err = (await obtain(`${base}/big-manifest/`).then(() => undefined, (e: unknown) => e)) as Error | undefined;
    expect(err, 'the bundle was taken').toBeInstanceOf(ConfigError);
    expect(err!.message).toBe(`--rig-path: ${base}/big-manifest/manifest.json sends more than 1048576 bytes, more than a manifest may have`);
  });

  it('bound a tarball and the sum of the files', async () => {
    const big = { role: 'kernel', path: 'Image', bytes: randomBytes(64 * 1024) };
    await serveBundle('big', [big]);
    execFileSync('tar', ['-czf', join(served, 'big.tar.gz'), '-C', join(served, 'big'), 'manifest.json', 'Image']);
    const limits = { bytes: 16 * 1024 };
    await expect(obtain(`${base}/big.tar.gz`, { limits })).rejects.toThrow(`--rig-path: ${base}/big.tar.gz sends more than 16384 bytes, more than a bundle may have`);
    await expect(obtain(`${base}/big/`, { limits })).rejects.toThrow(`--rig-path: ${base}/big/manifest.json: the manifest lists 65536 bytes of files, more than a bundle may have (16384)`);
  });
});

describe('http://', () => {
  it('is for this machine only', async () => {
    for (const url of ['http://rigs.example.com/rig.tar.gz', 'http://10.0.0.1/rig/', 'http://127.0.0.1.example.com/rig/']) {
      await expect(locateBundle(url, '--rig-path'), url).rejects.toThrow(`--rig-path: ${url}: bundles are fetched over https (http only from this machine)`);
    }
    for (const url of ['http://127.0.0.1:8080/rig.tar.gz', 'http://localhost/rig/', 'http://[::1]:80/rig/', 'https://rigs.example.com/rig/']) {
      expect((await locateBundle(url, '--rig-path')).kind, url).toMatch(/^url-/);
    }
  });
});
