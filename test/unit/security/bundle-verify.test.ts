// Issue #17: `rig verify --rig-path` accepted bundles that `run` refuses, and read URLs as local
// paths. It now goes through the very checks `run` does, for every kind of rig-path, and
// changes nothing in the cache. Driven through the CLI's own entry (src), in process.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { listenLoopback, serveFile, type Loopback } from '../../support/http.js';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliMain } from '../../../src/cli/main-impl.js';
import { obtainPrebuiltRig } from '../../../src/rig/prebuilt/index.js';

let scratch: string;
let good: string;
let http: Loopback | undefined;
let base: string;
const sha = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');

/** A bundle directory with these files; `listed` overrides what the manifest names. */
async function writeBundle(dir: string, files: Record<string, string>, listed = Object.keys(files)): Promise<void> {
  await mkdir(dir, { recursive: true });
  for (const [path, text] of Object.entries(files)) await writeFile(join(dir, path), text);
  const roles = ['kernel', 'xen-image', 'uboot'];
  const entries = listed.map((path, i) => {
    const text = Object.values(files)[i]!;
    return { role: roles[i], path, sha256: sha(text), size: Buffer.byteLength(text), origin: {} };
  });
  const manifest = { schemaVersion: 1, provider: 'debian', key: 'a'.repeat(64), createdAt: '2025-01-01T00:00:00.000Z', versions: {}, files: entries, capabilities: [], notes: [] };
  await writeFile(join(dir, 'manifest.json'), JSON.stringify(manifest));
}

beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'bundle-verify-'));
  good = join(scratch, 'good');
  await writeBundle(good, { Image: 'kernel\n', xen: 'xen\n' });
  execFileSync('tar', ['-czf', join(scratch, 'good.tar.gz'), '-C', good, 'manifest.json', 'Image', 'xen']);
  http = await listenLoopback((req, res) => serveFile(res, scratch, new URL(req.url!, 'http://x').pathname));
  base = http.base;
});

afterAll(async () => {
  await http?.close();
  await rm(scratch, { recursive: true, force: true });
});

async function verify(rigPath: string, cacheDir: string): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await cliMain(['rig', 'verify', '--rig', 'prebuilt', '--rig-path', rigPath, '--cache-dir', cacheDir], {
    out: (t) => void (out += t),
    err: (t) => void (err += t),
    cwd: scratch,
    env: process.env,
  });
  return { code, out, err };
}

describe('rig verify --rig-path', () => {
  it('checks a directory, a tarball, an http:// tarball and an http:// directory, naming the key run would cache them under', async () => {
    const cacheDir = await mkdtemp(join(scratch, 'cache-'));
    const run = (await obtainPrebuiltRig({ provider: 'prebuilt', rigPath: good }, { cacheDir: await mkdtemp(join(scratch, 'cache-')), log: () => undefined }, true))!;
    for (const rigPath of [good, 'good', join(scratch, 'good.tar.gz'), `${base}/good.tar.gz`, `${base}/good/`]) {
      const got = await verify(rigPath, cacheDir);
      expect(got.code, `${rigPath}: ${got.err}`).toBe(0);
      expect(got.err).toContain(`rig ${run.key} intact: 2 files match the manifest`);
    }
    // Verifying is reading: nothing was cached.
    expect(await readdir(cacheDir)).not.toContain('rigs');
  });

  it('refuses, with exit 2 naming the entry, what run refuses', async () => {
    const cacheDir = await mkdtemp(join(scratch, 'cache-'));
    await writeFile(join(scratch, 'outside'), 'xen\n');
    // A manifest path out of the bundle, with the right sha256 for what is there.
    const up = join(scratch, 'up');
    await writeBundle(up, { Image: 'kernel\n', xen: 'xen\n' }, ['Image', '../outside']);
    const upGot = await verify(up, cacheDir);
    expect(upGot.code).toBe(2);
    expect(upGot.err).toContain(`error: --rig-path: ${up}: the manifest lists the file path "../outside", which is not a plain path inside the bundle`);

    const linked = join(scratch, 'linked');
    await writeBundle(linked, { Image: 'kernel\n', xen: 'xen\n' }, ['Image', 'sub/outside']);
    await symlink(scratch, join(linked, 'sub'));
    const linkedGot = await verify(linked, cacheDir);
    expect(linkedGot.code).toBe(2);
    expect(linkedGot.err).toMatch(/error: --rig-path: \S+ is damaged:\n {2}sub\/outside \(xen-image\) leads outside the bundle/);
  });
});
