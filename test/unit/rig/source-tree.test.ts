// Local source trees (`xen-path`, `qemu-path`): what keys them and what gets copied, on real
// git checkouts (full and shallow clones, uncommitted, untracked and ignored files, a
// subdirectory) and plain directories; and the configuration errors around them.
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, rmSync, statSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DEFAULT_LINUX_REPO, resolvePlan } from '../../../src/config/plan.js';
import type { OptionName } from '../../../src/config/options.js';
import { originKey, originVersions } from '../../../src/rig/build/origin.js';
import { copyTree, describeTree, identifyTree } from '../../../src/rig/build/tree.js';

const root = mkdtempSync(join(tmpdir(), 'xpv-tree-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const ENV = {
  ...process.env,
  GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@invalid', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@invalid',
  GIT_AUTHOR_DATE: '2000-01-01T00:00:00Z', GIT_COMMITTER_DATE: '2000-01-01T00:00:00Z',
};
const git = (cwd: string, ...args: string[]) => execFileSync('git', args, { cwd, env: ENV, encoding: 'utf8' }).trim();

/** A small repository shaped like a source tree, with a build output its .gitignore names. */
function repo(name: string): string {
  const dir = join(root, name);
  mkdirSync(join(dir, 'xen/common'), { recursive: true });
  writeFileSync(join(dir, 'xen/common/version.c'), 'const char *v = "4.20";\n');
  writeFileSync(join(dir, 'configure'), '#!/bin/sh\necho configured\n');
  chmodSync(join(dir, 'configure'), 0o755);
  symlinkSync('xen/common/version.c', join(dir, 'version-link'));
  writeFileSync(join(dir, '.gitignore'), '*.o\n');
  git(dir, 'init', '-q', '-b', 'main');
  git(dir, 'add', '-A');
  git(dir, 'commit', '-q', '-m', 'tree');
  writeFileSync(join(dir, 'xen/common/version.o'), 'built');
  return dir;
}

const label = 'input `xen-path`';

describe('a git checkout', () => {
  const dir = repo('xen');
  const commit = git(dir, 'rev-parse', 'HEAD');

  it('is its commit when clean, whatever the clone: the same cache entries as xen-ref at that commit', async () => {
    const t = await identifyTree(dir, label);
    expect(t).toMatchObject({ id: `git:${commit}`, commit, prefix: '' });
    expect(t.uncommitted).toBeUndefined();
    expect(originKey({ kind: 'path', tree: t })).toEqual({ commit });
    expect(t.files).toEqual(['.gitignore', 'configure', 'version-link', 'xen/common/version.c']);
    const shallow = join(root, 'shallow');
    git(root, 'clone', '-q', '--depth', '1', `file://${dir}`, shallow);
    expect((await identifyTree(shallow, label)).id).toBe(t.id);
    expect(describeTree(t)).toBe(`git checkout ${dir} at ${commit}`);
    expect(originVersions('xen', { kind: 'path', tree: t })).toEqual({ 'xen-path': dir, 'xen-commit': commit, 'xen-uncommitted': 'none' });
  });

  it('adds a hash of its uncommitted changes: one edited line changes the key, undoing it restores it', async () => {
    const file = join(dir, 'xen/common/version.c');
    const before = readFileSync(file, 'utf8');
    writeFileSync(file, before.replace('4.20', '4.21'));
    const edited = await identifyTree(dir, label);
    expect(edited.id).toMatch(new RegExp(`^git:${commit}\\+[0-9a-f]{64}$`));
    expect(edited.uncommitted).toEqual({ sha256: expect.stringMatching(/^[0-9a-f]{64}$/), files: 1 });
    expect(originKey({ kind: 'path', tree: edited })).toEqual({ tree: edited.id });
    expect((await identifyTree(dir, label)).id).toBe(edited.id);
    git(dir, 'add', '-A');
    expect((await identifyTree(dir, label)).id).toBe(edited.id); // staged or not, the same change
    writeFileSync(file, before.replace('4.20', '4.22'));
    expect((await identifyTree(dir, label)).id).not.toBe(edited.id);
    writeFileSync(file, before);
    git(dir, 'reset', '-q');
    expect((await identifyTree(dir, label)).id).toBe(`git:${commit}`);
    expect(describeTree(edited)).toMatch(/ \+ uncommitted changes in 1 file \(sha256 [0-9a-f]{16}\)$/);
  });

  it('counts untracked files and deletions as changes, never ignored build outputs', async () => {
    writeFileSync(join(dir, 'xen/common/new.c'), 'int x;\n');
    const withNew = await identifyTree(dir, label);
    expect(withNew.files).toContain('xen/common/new.c');
    expect(withNew.uncommitted?.files).toBe(1);
    unlinkSync(join(dir, 'xen/common/new.c'));
    unlinkSync(join(dir, 'configure'));
    const deleted = await identifyTree(dir, label);
    expect(deleted.files).not.toContain('configure');
    expect(deleted.uncommitted?.files).toBe(1);
    git(dir, 'checkout', '-q', '--', 'configure');
    const clean = await identifyTree(dir, label);
    expect(clean.id).toBe(`git:${commit}`);
    expect(clean.files).not.toContain('xen/common/version.o');
  });

  it('copies exactly its files, with modes and symlinks, and no build outputs', async () => {
    const t = await identifyTree(dir, label);
    const dest = join(root, 'copy');
    await copyTree(t, dest);
    expect(readFileSync(join(dest, 'xen/common/version.c'), 'utf8')).toBe('const char *v = "4.20";\n');
    expect(statSync(join(dest, 'configure')).mode & 0o777).toBe(0o755);
    expect(readlinkSync(join(dest, 'version-link'))).toBe('xen/common/version.c');
    expect(() => statSync(join(dest, 'xen/common/version.o'))).toThrow();
  });

  it('is keyed by its own part when it is a directory inside a checkout', async () => {
    const t = await identifyTree(join(dir, 'xen'), label);
    expect(t).toMatchObject({ id: `git:${commit}:xen`, prefix: 'xen', files: ['common/version.c'] });
    expect(originKey({ kind: 'path', tree: t })).toEqual({ tree: `git:${commit}:xen` });
    writeFileSync(join(dir, 'configure'), '#!/bin/sh\necho other\n'); // outside xen/: not this tree's change
    expect((await identifyTree(join(dir, 'xen'), label)).id).toBe(`git:${commit}:xen`);
    git(dir, 'checkout', '-q', '--', 'configure');
  });
});

describe('a plain directory', () => {
  it('is keyed by every file it holds; a FIFO is skipped', async () => {
    const dir = join(root, 'plain');
    mkdirSync(join(dir, 'sub'), { recursive: true });
    writeFileSync(join(dir, 'a.c'), 'int a;\n');
    writeFileSync(join(dir, 'sub/b.c'), 'int b;\n');
    execFileSync('mkfifo', [join(dir, 'pipe')]);
    const t = await identifyTree(dir, label);
    expect(t.id).toMatch(/^files:[0-9a-f]{64}$/);
    expect(t.files).toEqual(['a.c', 'sub/b.c']);
    expect((await identifyTree(dir, label)).id).toBe(t.id);
    writeFileSync(join(dir, 'sub/b.c'), 'int b2;\n');
    expect((await identifyTree(dir, label)).id).not.toBe(t.id);
    expect(originVersions('qemu', { kind: 'path', tree: t })).toEqual({ 'qemu-path': dir, 'qemu-tree': t.id.slice(6) });
  });

  it('is refused when missing, not a directory, empty, or a repository without a commit', async () => {
    await expect(identifyTree(join(root, 'nope'), label)).rejects.toThrow(`input \`xen-path\`: ${join(root, 'nope')} does not exist`);
    writeFileSync(join(root, 'file'), 'x');
    await expect(identifyTree(join(root, 'file'), label)).rejects.toThrow('is not a directory');
    mkdirSync(join(root, 'empty'));
    await expect(identifyTree(join(root, 'empty'), label)).rejects.toThrow(`input \`xen-path\`: ${join(root, 'empty')} is empty`);
    mkdirSync(join(root, 'fresh'));
    git(join(root, 'fresh'), 'init', '-q');
    writeFileSync(join(root, 'fresh/a.c'), 'int a;\n');
    await expect(identifyTree(join(root, 'fresh'), label)).rejects.toThrow('is a git repository without a commit');
  });
});

describe('the xen-path and qemu-path options', () => {
  const plan = (values: Partial<Record<OptionName, string>>) =>
    resolvePlan({ values: { scenarios: 'boot-smoke', ...values }, label: (n) => `--${n}` }, { cwd: root, env: {} });

  it('resolve against the working directory and need rig: source', () => {
    expect(plan({ rig: 'source', 'xen-path': 'xen' }).rig).toMatchObject({ xenPath: join(root, 'xen') });
    expect(() => plan({ 'qemu-path': '.' })).toThrow('--qemu-path: a local source tree needs rig: source (rig is debian)');
  });

  it('choose the kernel: Debian\'s on rig debian, built from source on rig source, or as linux-* says', () => {
    expect(plan({}).rig.kernel).toBe('debian');
    expect(plan({ rig: 'source' }).rig.kernel).toBe('source');
    expect(plan({ rig: 'source', kernel: 'debian' }).rig.kernel).toBe('debian');
    expect(plan({ 'linux-path': 'linux' }).rig).toMatchObject({ kernel: 'source', linuxPath: join(root, 'linux') });
    expect(plan({ 'linux-ref': 'v6.12' }).rig).toMatchObject({ kernel: 'source', linuxRepo: DEFAULT_LINUX_REPO, linuxRef: 'v6.12' });
    expect(() => plan({ kernel: 'debian', 'linux-ref': 'v6.12' })).toThrow('--linux-ref name a kernel to build, but --kernel is debian');
    expect(() => plan({ 'linux-path': '.', 'linux-repo': 'https://example.org/l.git' })).toThrow('--linux-path and --linux-repo each name the source to build');
    expect(() => plan({ rig: 'prebuilt', 'rig-path': '/x', kernel: 'source' })).toThrow('--kernel: the prebuilt rig brings its own kernel; use rig: debian or source');
    expect(() => plan({ kernel: 'mainline' })).toThrow('--kernel: expected one of debian, source, got "mainline"');
  });

  it('never come with the repository or ref they replace', () => {
    expect(() => plan({ rig: 'source', 'xen-path': '.', 'xen-ref': 'stable-4.20' })).toThrow(
      '--xen-path and --xen-ref each name the source to build; give the path or the repository and ref, not both',
    );
    expect(() => plan({ rig: 'source', 'qemu-path': '.', 'qemu-repo': 'https://example.org/q.git', 'qemu-ref': 'v10.0.0' })).toThrow(
      '--qemu-path and --qemu-repo and --qemu-ref each name',
    );
  });
});
