// Issue #17, finding 2: a prebuilt bundle directory is untrusted input. Every path its manifest
// names is resolved for real and must stay inside the bundle: a symlinked directory on the way
// is no way out, and no error says anything (sha256, size, bytes) about where it led.
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../../src/errors.js';
import { obtainPrebuiltRig } from '../../../src/rig/prebuilt/index.js';

const log = () => undefined;
const labels = { rigPath: '--rig-path' };
let scratch: string;
let hostDir: string;
/** A file outside every bundle, standing in for /etc/passwd; its size is distinctive on purpose. */
const secret = Buffer.from(`TOPSECRET ${'x'.repeat(4321 - 11)}\n`);
const secretSha = createHash('sha256').update(secret).digest('hex');

beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'bundle-symlink-'));
  hostDir = join(scratch, 'host');
  await mkdir(hostDir);
  await writeFile(join(hostDir, 'passwd'), secret);
});
afterAll(() => rm(scratch, { recursive: true, force: true }));

interface Entry {
  role: string;
  path: string;
  bytes?: Buffer;
  /** What the manifest claims, when not the bytes' own. */
  sha256?: string;
  size?: number;
}

/** A bundle directory: the bytes given are written, every entry is listed in manifest.json. */
async function writeBundle(dir: string, entries: Entry[]): Promise<void> {
  await mkdir(dir, { recursive: true });
  const files = [];
  for (const e of entries) {
    if (e.bytes) {
      await mkdir(dirname(join(dir, e.path)), { recursive: true });
      await writeFile(join(dir, e.path), e.bytes);
    }
    const sha256 = e.sha256 ?? createHash('sha256').update(e.bytes ?? '').digest('hex');
    files.push({ role: e.role, path: e.path, sha256, size: e.size ?? e.bytes?.length ?? 0, origin: {} });
  }
  const manifest = { schemaVersion: 1, provider: 'debian', key: 'a'.repeat(64), createdAt: '2025-01-01T00:00:00.000Z', versions: {}, files, capabilities: [], notes: [] };
  await writeFile(join(dir, 'manifest.json'), JSON.stringify(manifest));
}

const kernel = { role: 'kernel', path: 'Image', bytes: Buffer.from('a kernel\n') };
const obtain = (rigPath: string, cacheDir: string) => obtainPrebuiltRig({ provider: 'prebuilt', rigPath, labels }, { cacheDir, log }, true);
const cachedRigs = (cacheDir: string) => readdir(join(cacheDir, 'rigs')).catch(() => []);

describe('a bundle directory with symlinks', () => {
  it('refuses an entry reached through a symlinked directory, even with the right sha256, and caches nothing', async () => {
    const dir = join(scratch, 'right-hash');
    await writeBundle(dir, [kernel, { role: 'xen-image', path: 'sub/passwd', sha256: secretSha, size: secret.length }]);
    await symlink(hostDir, join(dir, 'sub'));
    const cacheDir = await mkdtemp(join(scratch, 'cache-'));
    const got = obtain(dir, cacheDir);
    await expect(got).rejects.toThrow(ConfigError);
    await expect(got).rejects.toThrow(/^--rig-path: .*\n {2}sub\/passwd \(xen-image\) leads outside the bundle/);
    expect(await cachedRigs(cacheDir)).toEqual([]);
  });

  it('never prints the sha256 or size of the host file a symlink led to', async () => {
    const dir = join(scratch, 'wrong-hash');
    await writeBundle(dir, [kernel, { role: 'xen-image', path: 'sub/passwd', sha256: '0'.repeat(64), size: 1 }]);
    await symlink(hostDir, join(dir, 'sub'));
    const err = (await obtain(dir, await mkdtemp(join(scratch, 'cache-'))).catch((e: unknown) => e)) as Error;
    expect(err).toBeInstanceOf(ConfigError);
    expect(err.message).toContain('sub/passwd (xen-image) leads outside the bundle');
    expect(err.message).not.toContain(secretSha);
    expect(err.message).not.toContain(String(secret.length));
  });

  it('refuses a last component that is a symlink out, the same way', async () => {
    const dir = join(scratch, 'last-link');
    await writeBundle(dir, [kernel, { role: 'xen-image', path: 'xen', sha256: secretSha, size: secret.length }]);
    await symlink(join(hostDir, 'passwd'), join(dir, 'xen'));
    await expect(obtain(dir, await mkdtemp(join(scratch, 'cache-')))).rejects.toThrow(/\n {2}xen \(xen-image\) leads outside the bundle/);
  });

  it('refuses a manifest.json that is a symlink out, without quoting what it points at', async () => {
    const dir = join(scratch, 'manifest-link');
    await mkdir(dir);
    await symlink(join(hostDir, 'passwd'), join(dir, 'manifest.json'));
    const err = (await obtain(dir, await mkdtemp(join(scratch, 'cache-'))).catch((e: unknown) => e)) as Error;
    expect(err).toBeInstanceOf(ConfigError);
    expect(err.message).toMatch(/manifest\.json: it leads outside the bundle/);
    expect(err.message).not.toContain('TOPSECRET');
  });

  it('refuses what is not a regular file: a FIFO, a directory', async () => {
    const dir = join(scratch, 'special');
    await writeBundle(dir, [kernel, { role: 'xen-image', path: 'fifo', sha256: '0'.repeat(64), size: 0 }, { role: 'uboot', path: 'somedir', sha256: '0'.repeat(64), size: 0 }]);
    execFileSync('mkfifo', [join(dir, 'fifo')]);
    await mkdir(join(dir, 'somedir'));
    const got = obtain(dir, await mkdtemp(join(scratch, 'cache-')));
    await expect(got).rejects.toThrow(ConfigError);
    await expect(got).rejects.toThrow(/\n {2}fifo \(xen-image\) is not a regular file\n {2}somedir \(uboot\) is not a regular file/);
  });

  it('takes a symlink that stays inside the bundle, and caches the bytes, not the link', async () => {
    const dir = join(scratch, 'inside-link');
    await writeBundle(dir, [kernel, { role: 'xen-image', path: 'xen', bytes: Buffer.from('xen\n') }]);
    await mkdir(join(dir, 'real'));
    await rm(join(dir, 'xen'));
    await writeFile(join(dir, 'real', 'xen'), 'xen\n');
    await symlink('real/xen', join(dir, 'xen'));
    const cacheDir = await mkdtemp(join(scratch, 'cache-'));
    const got = await obtain(dir, cacheDir);
    expect(got?.cacheHit).toBe(false);
    expect(execFileSync('find', [got!.rig.dir, '-type', 'l'], { encoding: 'utf8' })).toBe('');
  });
});
