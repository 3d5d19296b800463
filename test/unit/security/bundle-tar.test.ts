// Issue #17, finding 8: tar runs (often as root) on untrusted bundle tarballs. The listing is
// checked before anything is extracted: only regular files, directories and symlinks that stay
// inside, no absolute or dot-dot names, bounded size and count; extraction restores no owner or
// special permission bits, and the extracted tree is checked again. Real tarballs, real tar.
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { chmod, link, mkdir, mkdtemp, readdir, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../../src/errors.js';
import { checkRig } from '../../../src/rig/index.js';
import { obtainPrebuiltRig, type PrebuiltOptions } from '../../../src/rig/prebuilt/index.js';

const log = () => undefined;
const labels = { rigPath: '--rig-path' };
let scratch: string;
const sha = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');

beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'bundle-tar-'));
});
afterAll(() => rm(scratch, { recursive: true, force: true }));

/** A bundle directory with these files, all listed in its manifest. */
async function writeBundle(name: string, files: Record<string, Buffer | string>): Promise<string> {
  const dir = join(scratch, name);
  await mkdir(dir, { recursive: true });
  const roles = ['kernel', 'xen-image', 'uboot'];
  const listed = Object.entries(files).map(([path, bytes], i) => ({ role: roles[i], path, sha256: sha(bytes), size: Buffer.byteLength(bytes), origin: {} }));
  for (const [path, bytes] of Object.entries(files)) await writeFile(join(dir, path), bytes);
  const manifest = { schemaVersion: 1, provider: 'debian', key: 'a'.repeat(64), createdAt: '2025-01-01T00:00:00.000Z', versions: {}, files: listed, capabilities: [], notes: [] };
  await writeFile(join(dir, 'manifest.json'), JSON.stringify(manifest));
  return dir;
}

/** tar, as a user would run it, with the arguments given. */
function tarball(name: string, args: string[]): string {
  const file = join(scratch, name);
  execFileSync('tar', ['-czf', file, '--sort=name', ...args]);
  return file;
}

const obtain = async (rigPath: string, opts: Partial<PrebuiltOptions> = {}) =>
  obtainPrebuiltRig({ provider: 'prebuilt', rigPath, labels }, { cacheDir: await mkdtemp(join(scratch, 'cache-')), log, ...opts }, true);

async function refusal(rigPath: string, opts: Partial<PrebuiltOptions> = {}): Promise<string> {
  const err = (await obtain(rigPath, opts).then(() => undefined, (e: unknown) => e)) as Error | undefined;
  expect(err, `${rigPath} was taken`).toBeInstanceOf(ConfigError);
  return err!.message;
}

describe('a bundle tarball', () => {
  it('with a device node is refused before extraction, by run and by rig verify alike', async () => {
    const good = await writeBundle('dev', { Image: 'kernel\n' });
    // Archiving /dev/null needs no privilege: the entry is a character device all the same.
    const file = tarball('dev.tar.gz', ['-C', good, 'manifest.json', 'Image', '-C', '/', 'dev/null']);
    const why = `--rig-path: ${file}: "dev/null" is a character device; a bundle tarball holds only regular files, directories and symbolic links that stay inside it`;
    expect(await refusal(file)).toBe(why);
    await expect(checkRig({ provider: 'prebuilt', rigPath: file, labels }, { cacheDir: await mkdtemp(join(scratch, 'cache-')), log })).rejects.toThrow(why);
  });

  it('with a symlink out of the bundle is refused, even unused', async () => {
    const dir = await writeBundle('link-out', { Image: 'kernel\n' });
    await symlink('/etc', join(dir, 'etc'));
    await symlink('../../outside', join(dir, 'up'));
    const file = tarball('link-out.tar.gz', ['-C', dir, '.']);
    expect(await refusal(file)).toBe(`--rig-path: ${file}: "./etc" is a symbolic link to "/etc", outside the bundle`);
  });

  it('with an absolute or dot-dot name is refused', async () => {
    const good = await writeBundle('names', { Image: 'kernel\n' });
    await writeFile(join(scratch, 'outside.txt'), 'outside\n');
    const absolute = tarball('absolute.tar.gz', ['-P', '-C', good, 'manifest.json', 'Image', join(scratch, 'outside.txt')]);
    expect(await refusal(absolute)).toBe(`--rig-path: ${absolute}: "${join(scratch, 'outside.txt')}" is an absolute path`);
    await writeFile(join(good, 'escape'), 'escape\n');
    const dotdot = tarball('dotdot.tar.gz', ['-P', '--transform', 's,^escape$,../escape,', '-C', good, 'manifest.json', 'Image', 'escape']);
    expect(await refusal(dotdot)).toBe(`--rig-path: ${dotdot}: "../escape" leads out of the bundle (a .. component)`);
  });

  it('with a hard link is refused', async () => {
    const dir = await writeBundle('hard', { Image: 'kernel\n' });
    await link(join(dir, 'Image'), join(dir, 'Image.again'));
    const file = tarball('hard.tar.gz', ['-C', dir, 'manifest.json', 'Image', 'Image.again']);
    expect(await refusal(file)).toMatch(/^--rig-path: \S+: "Image(\.again)?" is a hard link; a bundle tarball holds only/);
  });

  it('that unpacks to more than the limit, or holds too many entries, is refused before extraction', async () => {
    const dir = await writeBundle('big', { Image: randomBytes(64 * 1024) });
    const file = tarball('big.tar.gz', ['-C', dir, 'manifest.json', 'Image']);
    expect(await refusal(file, { limits: { bytes: 16 * 1024 } })).toBe(`--rig-path: ${file}: it unpacks to more than 16384 bytes, more than a bundle may have`);
    expect(await refusal(file, { limits: { entries: 1 } })).toBe(`--rig-path: ${file}: it holds more than 1 entries, more than a bundle may have`);
  });

  it('is unpacked without its owners or special permission bits', async () => {
    const dir = await writeBundle('modes', { Image: 'kernel\n', xen: 'xen\n' });
    await chmod(join(dir, 'xen'), 0o6777);
    const file = join(scratch, 'modes.tar.gz');
    execFileSync('tar', ['-czf', file, '--owner=12345', '--group=12345', '-C', dir, 'manifest.json', 'Image', 'xen']);
    const got = (await obtain(file))!;
    const st = await stat(join(got.rig.dir, 'xen'));
    expect(st.mode & 0o7022).toBe(0);
    expect(st.mode & 0o100).toBe(0o100);
    expect(st.uid).toBe(process.getuid!());
  });

  it('with a symlink inside it and one wrapping directory is taken', async () => {
    const dir = await writeBundle('wrapped/bundle', { Image: 'kernel\n' });
    await mkdir(join(dir, 'real'));
    await writeFile(join(dir, 'real', 'xen'), 'xen\n');
    await symlink('real/xen', join(dir, 'alias'));
    const file = tarball('wrapped.tar.gz', ['-C', join(scratch, 'wrapped'), 'bundle']);
    const got = (await obtain(file))!;
    expect(await readdir(got.rig.dir)).toEqual(['Image', 'manifest.json']);
  });
});
