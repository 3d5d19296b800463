// Rigs a release published, served from a local HTTP server laid out like release assets
// (scripts/publish-rigs, as release.yml runs it): with an empty rig cache a run downloads,
// verifies and boots the published bundle; a changed byte, a bundle of another key or no
// server are each refused with the reason, and the rig is built instead. The builds share the
// machine's components, so "building" here is assembling (seconds), not compiling.
import { spawnSync } from 'node:child_process';
import { cpSync, createReadStream, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readRig, sha256File } from '../../../src/rig/bundle.js';
import { defaultCacheDir, rigDir } from '../../../src/rig/index.js';
import { CHECKSUMS_FILE } from '../../../src/rig/published.js';
import { validateJunit } from '../../support/junit.js';
import { ROOT, startCli } from '../../support/cli.js';

const root = mkdtempSync(join(tmpdir(), 'xpv-published-'));
let server: Server;
let base: string;
let key: string;

/** A rig cache with the machine's components, toolchains, lists and sources, but no rigs. */
function emptyRigCache(name: string): string {
  const dir = join(root, name);
  mkdirSync(dir, { recursive: true });
  for (const shared of ['components', 'toolchains', 'apt', 'sources', 'tools']) {
    if (existsSync(join(defaultCacheDir(), shared))) symlinkSync(join(defaultCacheDir(), shared), join(dir, shared));
  }
  return dir;
}

beforeAll(async () => {
  const out = join(root, 'release');
  const r = spawnSync(join(ROOT, 'scripts/publish-rigs'), [out, 'debian'], { encoding: 'utf8', timeout: 20 * 60_000 });
  expect(r.status, r.stderr).toBe(0);
  key = /^kernel debian: ([0-9a-f]{64})\.tar\.gz$/m.exec(r.stdout)![1]!;
  // Three layouts of release assets: as published, one byte changed, another key's bundle under this key's name.
  const changed = join(root, 'changed');
  cpSync(out, changed, { recursive: true });
  const tarball = readFileSync(join(changed, `${key}.tar.gz`));
  const mid = tarball.length >> 1;
  tarball[mid] = tarball[mid]! ^ 0xff;
  writeFileSync(join(changed, `${key}.tar.gz`), tarball);
  server = createServer((req, res) => {
    const file = join(root, decodeURIComponent(new URL(req.url!, 'http://x').pathname));
    if (!file.startsWith(root + '/') || !existsSync(file)) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200);
    createReadStream(file).pipe(res);
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const address = server.address();
  base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
}, 25 * 60_000);

afterAll(async () => {
  await new Promise<void>((done) => (server ? server.close(() => done()) : done()));
  rmSync(root, { recursive: true, force: true });
});

describe('a rig the release published', () => {
  it('is downloaded, verified and booted when the cache has no rig', { timeout: 10 * 60_000 }, async () => {
    const cache = emptyRigCache('fresh');
    const run = startCli(['run', 'boot-smoke', '--cache-dir', cache, '--rig-mirror', `${base}/release/`]);
    const { code } = await run.done;
    expect(code, run.stderr()).toBe(0);
    expect(run.stderr()).toContain(`published rig ${key.slice(0, 12)} from the mirror ${base}/release/: downloaded and verified (SHA256SUMS, key, every file), nothing to build`);
    expect(run.stderr()).not.toMatch(/building debian rig/);
    validateJunit(readFileSync(run.junitPath, 'utf8'));
    const rig = await readRig(rigDir(cache, key));
    expect(rig.manifest.key).toBe(key);
    // The very bytes the release built.
    const published = await readRig(rigDir(defaultCacheDir(), key));
    for (const f of published.manifest.files) expect(await sha256File(join(rig.dir, f.path)), f.path).toBe(f.sha256);
  });

  it('is refused for a changed byte, and the rig is built instead', { timeout: 10 * 60_000 }, async () => {
    const cache = emptyRigCache('changed');
    const run = startCli(['rig', 'build', '--cache-dir', cache, '--rig-mirror', `${base}/changed/`]);
    const { code } = await run.done;
    expect(code, run.stderr()).toBe(0);
    expect(run.stderr()).toMatch(new RegExp(`published rig not used, building instead: ${key}\\.tar\\.gz has sha256 [0-9a-f]{64}, but ${CHECKSUMS_FILE} says [0-9a-f]{64}`));
    expect(run.stderr()).toMatch(/building debian rig/);
    expect(readdirSync(join(cache, 'rigs'))).toContain(key);
  });

  it("is refused when the asset under this key's name holds another rig", { timeout: 15 * 60_000 }, async () => {
    // kernel: source has its own key; the release's default rig is served under that name.
    const cache = emptyRigCache('other-key');
    const probe = startCli(['rig', 'build', '--kernel', 'source', '--cache-dir', cache, '--rig-download', 'false']);
    expect((await probe.done).code, probe.stderr()).toBe(0);
    const otherKey = readdirSync(join(cache, 'rigs')).find((d) => /^[0-9a-f]{64}$/.test(d))!;
    rmSync(join(cache, 'rigs'), { recursive: true, force: true });
    const wrong = join(root, 'wrong');
    mkdirSync(wrong, { recursive: true });
    cpSync(join(root, 'release', `${key}.tar.gz`), join(wrong, `${otherKey}.tar.gz`));
    writeFileSync(join(wrong, CHECKSUMS_FILE), `${await sha256File(join(wrong, `${otherKey}.tar.gz`))}  ${otherKey}.tar.gz\n`);
    const run = startCli(['rig', 'build', '--kernel', 'source', '--cache-dir', cache, '--rig-mirror', `${base}/wrong/`]);
    expect((await run.done).code, run.stderr()).toBe(0);
    expect(run.stderr()).toContain(`published rig not used, building instead: ${otherKey}.tar.gz holds the rig ${key.slice(0, 12)}, not ${otherKey.slice(0, 12)}, which this recipe computes`);
    expect(readdirSync(join(cache, 'rigs'))).toContain(otherKey);
  });

  it('is not there without a network, which the log says before building', { timeout: 10 * 60_000 }, async () => {
    const closed = createServer();
    await new Promise<void>((done) => closed.listen(0, '127.0.0.1', done));
    const port = (closed.address() as { port: number }).port;
    await new Promise<void>((done) => closed.close(() => done()));
    const cache = emptyRigCache('offline');
    const run = startCli(['rig', 'build', '--cache-dir', cache, '--rig-mirror', `http://127.0.0.1:${port}/`]);
    expect((await run.done).code, run.stderr()).toBe(0);
    expect(run.stderr()).toMatch(new RegExp(`published rig not used, building instead: published rig \\(the mirror http://127\\.0\\.0\\.1:${port}/\\): cannot download http://127\\.0\\.0\\.1:${port}/SHA256SUMS: fetch failed \\(ECONNREFUSED\\)`));
    expect(run.stderr()).toMatch(/building debian rig/);
    const off = startCli(['rig', 'build', '--cache-dir', emptyRigCache('off'), '--rig-download', 'false']);
    expect((await off.done).code, off.stderr()).toBe(0);
    expect(off.stderr()).toContain('published rig: not looked for (rig-download is false)');
  });
});
