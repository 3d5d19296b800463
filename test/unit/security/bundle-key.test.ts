// Issue #17, finding 3: a prebuilt bundle's manifest `key` is only a claim. The cache key comes
// from the verified content, in a namespace of its own (never a debian or source key), and a
// rig already cached is never removed or replaced before the new one has fully verified.
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../../src/errors.js';
import { readRig, verifyRig } from '../../../src/rig/bundle.js';
import { remoteKey } from '../../../src/rig/cache.js';
import { obtainPrebuiltRig, type PrebuiltOptions } from '../../../src/rig/prebuilt/index.js';

const log = () => undefined;
let scratch: string;
/** The key a debian rig could have: what a hostile bundle claims. */
const DEBIAN_KEY = 'd'.repeat(64);

beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'bundle-key-'));
});
afterAll(() => rm(scratch, { recursive: true, force: true }));

const sha = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');

/** A bundle directory claiming `key`; `lie` writes other bytes than the manifest lists for that path. */
async function writeBundle(dir: string, key: string, files: Record<string, string>, o: { lie?: string; capabilities?: string[] } = {}): Promise<void> {
  await mkdir(dir, { recursive: true });
  const roles = ['kernel', 'xen-image', 'uboot'];
  const listed = Object.entries(files).map(([path, text], i) => ({ role: roles[i], path, sha256: sha(text), size: Buffer.byteLength(text), origin: {} }));
  for (const [path, text] of Object.entries(files)) await writeFile(join(dir, path), path === o.lie ? text.replace(/^./, '!') : text);
  const manifest = { schemaVersion: 1, provider: 'debian', key, createdAt: '2025-01-01T00:00:00.000Z', versions: {}, files: listed, capabilities: o.capabilities ?? [], notes: [] };
  await writeFile(join(dir, 'manifest.json'), JSON.stringify(manifest));
}

const obtain = (rigPath: string, opts: Omit<PrebuiltOptions, 'log'>) => obtainPrebuiltRig({ provider: 'prebuilt', rigPath }, { ...opts, log }, true);

/** Every file of every cached rig, with its bytes' sha256: what must not change. */
async function cacheContents(cacheDir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const rig of await readdir(join(cacheDir, 'rigs')).catch(() => [])) {
    for (const name of await readdir(join(cacheDir, 'rigs', rig))) out[`${rig}/${name}`] = sha(await readFile(join(cacheDir, 'rigs', rig, name)));
  }
  return out;
}

/** A cache holding a verified "debian" rig under DEBIAN_KEY. */
async function cacheWithDebianRig(): Promise<string> {
  const cacheDir = await mkdtemp(join(scratch, 'cache-'));
  await writeBundle(join(cacheDir, 'rigs', DEBIAN_KEY), DEBIAN_KEY, { Image: 'the real kernel\n', xen: 'the real xen\n' });
  await verifyRig(await readRig(join(cacheDir, 'rigs', DEBIAN_KEY)));
  return cacheDir;
}

describe('the cache key of a prebuilt bundle', () => {
  it('is derived from the content, in its own namespace, whatever key the manifest claims', async () => {
    const cacheDir = await cacheWithDebianRig();
    const before = await cacheContents(cacheDir);
    const hostile = join(scratch, 'claims-debian');
    await writeBundle(hostile, DEBIAN_KEY, { Image: 'a hostile kernel\n', xen: 'a hostile xen\n' });
    const got = (await obtain(hostile, { cacheDir }))!;
    expect(got.key).toMatch(/^prebuilt-[0-9a-f]{64}$/);
    expect(got.rig.dir).toBe(join(cacheDir, 'rigs', got.key));
    expect(remoteKey(got.key)).not.toBe(remoteKey(DEBIAN_KEY));
    // The debian rig is exactly as it was.
    const after = await cacheContents(cacheDir);
    for (const [file, sum] of Object.entries(before)) expect(after[file], file).toBe(sum);
  });

  it('is the same for the same content and differs when anything in the manifest differs', async () => {
    const cacheDir = await mkdtemp(join(scratch, 'cache-'));
    const files = { Image: 'kernel\n', xen: 'xen\n' };
    await writeBundle(join(scratch, 'same-1'), 'b'.repeat(64), files);
    await writeBundle(join(scratch, 'same-2'), 'b'.repeat(64), files);
    await writeBundle(join(scratch, 'more-capable'), 'b'.repeat(64), files, { capabilities: ['ssh'] });
    const one = (await obtain(join(scratch, 'same-1'), { cacheDir }))!;
    const two = (await obtain(join(scratch, 'same-2'), { cacheDir }))!;
    const other = (await obtain(join(scratch, 'more-capable'), { cacheDir }))!;
    expect(two.key).toBe(one.key);
    expect(two.cacheHit).toBe(true);
    expect(other.key).not.toBe(one.key);
    expect(other.rig.manifest.capabilities).toEqual(['ssh']);
  });
});

describe('a damaged bundle', () => {
  it('that claims the key of a cached rig leaves that rig in place', async () => {
    const cacheDir = await cacheWithDebianRig();
    const before = await cacheContents(cacheDir);
    const damaged = join(scratch, 'damaged-claim');
    await writeBundle(damaged, DEBIAN_KEY, { Image: 'another kernel\n', xen: 'another xen\n' }, { lie: 'Image' });
    const got = obtain(damaged, { cacheDir });
    await expect(got).rejects.toThrow(ConfigError);
    await expect(got).rejects.toThrow(/\n {2}Image \(kernel\) has sha256 [0-9a-f]{64}, manifest says/);
    expect(await cacheContents(cacheDir)).toEqual(before);
    await verifyRig(await readRig(join(cacheDir, 'rigs', DEBIAN_KEY)));
  });

  it('with the very manifest of a cached rig replaces nothing, even told not to use the cache', async () => {
    const cacheDir = await mkdtemp(join(scratch, 'cache-'));
    const files = { Image: 'kernel\n', xen: 'xen\n' };
    await writeBundle(join(scratch, 'good'), 'c'.repeat(64), files);
    const good = (await obtain(join(scratch, 'good'), { cacheDir }))!;
    const before = await cacheContents(cacheDir);
    await writeBundle(join(scratch, 'good-but-damaged'), 'c'.repeat(64), files, { lie: 'xen' });
    const got = obtain(join(scratch, 'good-but-damaged'), { cacheDir, useCache: false });
    await expect(got).rejects.toThrow(/\n {2}xen \(xen-image\) has sha256 [0-9a-f]{64}, manifest says/);
    expect(await cacheContents(cacheDir)).toEqual(before);
    await verifyRig(await readRig(good.rig.dir));
  });

  it('that is sound replaces the cached copy when told not to use the cache, atomically', async () => {
    const cacheDir = await mkdtemp(join(scratch, 'cache-'));
    await writeBundle(join(scratch, 'again'), 'e'.repeat(64), { Image: 'kernel\n' });
    const first = (await obtain(join(scratch, 'again'), { cacheDir }))!;
    const again = (await obtain(join(scratch, 'again'), { cacheDir, useCache: false }))!;
    expect(again.cacheHit).toBe(false);
    expect(again.rig.dir).toBe(first.rig.dir);
    await verifyRig(await readRig(again.rig.dir));
    // Nothing is left beside it (no temporary or set-aside copies).
    expect(await readdir(join(cacheDir, 'rigs'))).toEqual([first.key]);
  });
});
