// `rig export` and the prebuilt provider on the real debian rig (built by vitest's global
// setup): round trips as a directory, a tarball, file:// and over HTTP from a loopback
// server, each into a fresh cache; damaged and malformed bundles are refused by name.
import { createReadStream, existsSync } from 'node:fs';
import { cp, mkdtemp, readFile, rm, stat, unlink, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, InfraError } from '../../../src/errors.js';
import { defaultCacheDir, exportRig, findCachedRig, obtainRig, type ObtainedRig } from '../../../src/rig/index.js';
import { obtainPrebuiltRig, prebuiltKey } from '../../../src/rig/prebuilt/index.js';
import { startCli } from '../../support/cli.js';

const lines: string[] = [];
const log = (line: string) => lines.push(line);
let debian: ObtainedRig;
let scratch: string;
let bundleDir: string;
let tarball: string;
let server: Server;
let base: string;
/** Requests that should never be answered, to exercise the download deadline. */
const stalled: unknown[] = [];

beforeAll(async () => {
  const found = await findCachedRig({ provider: 'debian' }, { cacheDir: defaultCacheDir(), log });
  if (!found) throw new Error('the debian rig is not cached: vitest global setup should have built it');
  debian = found;
  scratch = await mkdtemp(join(tmpdir(), 'prebuilt-test-'));
  bundleDir = join(scratch, 'bundle');
  tarball = join(scratch, 'exported', 'rig.tar.gz');
  // The directory through the CLI, as users run it; the tarball through the function.
  const cli = startCli(['rig', 'export', bundleDir]);
  const { code } = await cli.done;
  if (code !== 0) throw new Error(`rig export exited ${code}:\n${cli.stderr()}`);
  await exportRig(debian.rig, tarball, log);

  server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url!, 'http://x').pathname);
    if (path.startsWith('/stall')) {
      stalled.push(res);
      return;
    }
    const file = path.startsWith('/dir/') ? join(bundleDir, path.slice(5)) : path === '/rig.tar.gz' ? tarball : undefined;
    if (!file) return void res.writeHead(404).end();
    stat(file).then(
      (st) => {
        res.writeHead(200, { 'content-length': st.size });
        createReadStream(file).pipe(res);
      },
      () => res.writeHead(404).end(),
    );
  });
  await new Promise<void>((res) => server.listen(0, '127.0.0.1', res));
  base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
}, 300_000);

afterAll(async () => {
  server?.closeAllConnections();
  await new Promise((res) => server?.close(res));
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

const freshCache = () => mkdtemp(join(scratch, 'cache-'));
const fileList = (o: ObtainedRig) => o.rig.manifest.files.map((f) => `${f.role} ${f.path} ${f.sha256} ${f.size}`).sort();

describe('rig export', () => {
  it('writes the manifest and every file, byte for byte', async () => {
    expect(JSON.parse(await readFile(join(bundleDir, 'manifest.json'), 'utf8'))).toEqual(debian.rig.manifest);
    for (const f of debian.rig.manifest.files) {
      expect((await readFile(join(bundleDir, f.path))).equals(await readFile(join(debian.rig.dir, f.path))), f.path).toBe(true);
    }
    expect((await readFile(tarball)).subarray(0, 2)).toEqual(Buffer.from([0x1f, 0x8b]));
  });

  it('needs exactly one target', async () => {
    const cli = startCli(['rig', 'export']);
    expect((await cli.done).code).toBe(2);
    expect(cli.stderr()).toContain('error: unknown rig command: export; expected: rig build | rig verify | rig export DIR|FILE.tar.gz');
  });

  it('refuses a directory that is not empty', async () => {
    await expect(exportRig(debian.rig, bundleDir, log)).rejects.toThrow(/bundle exists and is not empty/);
  });
});

describe.each([
  ['a directory', () => bundleDir],
  ['a tarball', () => tarball],
  ['a file:// URL', () => pathToFileURL(tarball).href],
  ['an http:// tarball', () => `${base}/rig.tar.gz`],
  ['an http:// directory', () => `${base}/dir/`],
])('--rig prebuilt from %s', (_name, rigPath) => {
  it('lands in a fresh cache under a key of its content with the same files, then is a cache hit', { timeout: 120_000 }, async () => {
    const cacheDir = await freshCache();
    const first = await obtainRig({ provider: 'prebuilt', rigPath: rigPath() }, { cacheDir, log });
    expect(first.cacheHit).toBe(false);
    // Every way of giving the same bundle lands in the same place, never the debian rig's own.
    expect(first.key).toBe(prebuiltKey(debian.rig.manifest));
    expect(first.key).not.toBe(debian.key);
    expect(first.rig.dir).toBe(join(cacheDir, 'rigs', first.key));
    expect(fileList(first)).toEqual(fileList(debian));
    const again = await obtainRig({ provider: 'prebuilt', rigPath: rigPath() }, { cacheDir, log });
    expect(again.cacheHit).toBe(true);
    expect(again.rig.dir).toBe(first.rig.dir);
  });
});

describe('a damaged or malformed bundle', () => {
  const labels = { rigPath: '--rig-path' };

  async function copyOfBundle(): Promise<string> {
    const dir = await mkdtemp(join(scratch, 'damaged-'));
    await cp(bundleDir, dir, { recursive: true });
    return dir;
  }

  it('names a file whose bytes changed, and the input', async () => {
    const dir = await copyOfBundle();
    const image = await readFile(join(dir, 'Image'));
    image[4096] = image[4096]! ^ 0xff;
    await writeFile(join(dir, 'Image'), image);
    const got = obtainRig({ provider: 'prebuilt', rigPath: dir, labels }, { cacheDir: await freshCache(), log });
    await expect(got).rejects.toThrow(ConfigError);
    await expect(got).rejects.toThrow(/^--rig-path: .*damaged:\n {2}Image \(kernel\) has sha256 [0-9a-f]{64}, manifest says/);
  });

  it('stops `run` before anything boots, with exit 2 and the file named', { timeout: 60_000 }, async () => {
    const dir = await copyOfBundle();
    await writeFile(join(dir, 'domU-rootfs.cpio.gz'), 'truncated');
    const cli = startCli(['run', 'boot-smoke', '--rig', 'prebuilt', '--rig-path', dir, '--cache-dir', await freshCache()]);
    expect((await cli.done).code).toBe(2);
    expect(cli.stderr()).toMatch(/error: --rig-path: .* is damaged:\n {2}domU-rootfs\.cpio\.gz \(domU-ramdisk\) has sha256 [0-9a-f]{64}, manifest says/);
    // The rig stage refused it: no QEMU was ever started.
    expect(existsSync(join(cli.logsDir, 'qemu.pid'))).toBe(false);
  });

  it('names a missing file, even when the cache already holds the same key', async () => {
    const cacheDir = await freshCache();
    await obtainRig({ provider: 'prebuilt', rigPath: bundleDir }, { cacheDir, log });
    const dir = await copyOfBundle();
    await unlink(join(dir, 'u-boot.bin'));
    // The cache holds this very manifest's rig: the input is still checked.
    await expect(obtainRig({ provider: 'prebuilt', rigPath: dir, labels }, { cacheDir, log })).rejects.toThrow(
      /--rig-path: [^]*u-boot\.bin \(uboot\) is missing/,
    );
  });

  it('names a missing or invalid manifest', async () => {
    const dir = await copyOfBundle();
    await unlink(join(dir, 'manifest.json'));
    await expect(obtainRig({ provider: 'prebuilt', rigPath: dir, labels }, { cacheDir: await freshCache(), log })).rejects.toThrow(
      new RegExp(`--rig-path: ${dir} is not a rig bundle: cannot read rig manifest ${dir}/manifest.json`),
    );
    await writeFile(join(dir, 'manifest.json'), JSON.stringify({ ...debian.rig.manifest, files: [{ ...debian.rig.manifest.files[0], path: '../Image' }] }));
    await expect(obtainRig({ provider: 'prebuilt', rigPath: dir, labels }, { cacheDir: await freshCache(), log })).rejects.toThrow(
      /--rig-path: .*the file path "\.\.\/Image", which is not a plain path inside the bundle/,
    );
  });

  it('refuses a path that does not exist and a file that is no tarball', async () => {
    await expect(obtainRig({ provider: 'prebuilt', rigPath: join(scratch, 'nope'), labels }, { cacheDir: await freshCache(), log })).rejects.toThrow(
      `--rig-path: ${join(scratch, 'nope')} does not exist`,
    );
    const junk = join(scratch, 'junk.tar.gz');
    await writeFile(junk, 'not a tarball');
    await expect(obtainRig({ provider: 'prebuilt', rigPath: junk, labels }, { cacheDir: await freshCache(), log })).rejects.toThrow(
      /--rig-path: .*junk\.tar\.gz is not a readable tarball/,
    );
  });

  it('reports an unreachable, missing or stalled URL as an infrastructure error naming it', async () => {
    const cacheDir = await freshCache();
    // A port nothing listens on: take one from a server that has just closed.
    const closed = createServer();
    await new Promise<void>((res) => closed.listen(0, '127.0.0.1', res));
    const port = (closed.address() as { port: number }).port;
    await new Promise((res) => closed.close(res));
    const refused = obtainRig({ provider: 'prebuilt', rigPath: `http://127.0.0.1:${port}/rig.tar.gz`, labels }, { cacheDir, log });
    await expect(refused).rejects.toThrow(InfraError);
    await expect(refused).rejects.toThrow(new RegExp(`--rig-path: cannot download http://127.0.0.1:${port}/rig.tar.gz: fetch failed \\(ECONNREFUSED\\)`));
    await expect(obtainRig({ provider: 'prebuilt', rigPath: `${base}/nothing.tar.gz`, labels }, { cacheDir, log })).rejects.toThrow(
      `--rig-path: cannot download ${base}/nothing.tar.gz: HTTP 404`,
    );
    const started = Date.now();
    await expect(
      obtainPrebuiltRig({ provider: 'prebuilt', rigPath: `${base}/stall/rig.tar.gz`, labels }, { cacheDir, log, downloadTimeoutMs: 1500 }, true),
    ).rejects.toThrow(`--rig-path: cannot download ${base}/stall/rig.tar.gz: no complete answer within 2 s`);
    expect(Date.now() - started).toBeLessThan(20_000);
  });
});
