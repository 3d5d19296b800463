// Local git repositories made from Debian's Xen and QEMU source packages (the trees the
// debian provider unpacks into the shared cache), standing in for upstream in tests. Fixed
// names, dates and messages make the commit ids the same on every run and every machine
// (given the same Debian source versions), so the source provider's component caches hit.
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { run } from '../../src/host/exec.js';
import { planDebianRig } from '../../src/rig/debian/build.js';
import { QEMU_SOURCE, XEN_SOURCE } from '../../src/rig/debian/recipe.js';
import { debianSourceTree } from '../../src/rig/debian/sources.js';

/** Fixed names and dates: the same content gives the same commit ids on every run. */
export const GIT_ENV = {
  GIT_AUTHOR_NAME: 'xen-pvh-virtio test',
  GIT_AUTHOR_EMAIL: 'test@xen-pvh-virtio.invalid',
  GIT_AUTHOR_DATE: '2000-01-01T00:00:00Z',
  GIT_COMMITTER_NAME: 'xen-pvh-virtio test',
  GIT_COMMITTER_EMAIL: 'test@xen-pvh-virtio.invalid',
  GIT_COMMITTER_DATE: '2000-01-01T00:00:00Z',
};

export interface TestRepo {
  url: string;
  commit: string;
  /** A tag on the commit (annotated, so resolving it means peeling). */
  tag: string;
  version: string;
}

async function git(cwd: string, args: string[]): Promise<string> {
  return (await run('git', args, { cwd, env: GIT_ENV })).stdout.trim();
}

async function repoFrom(tree: string, dir: string, name: string, version: string): Promise<TestRepo> {
  await run('cp', ['-a', tree, dir]);
  await git(dir, ['init', '-q', '-b', 'main']);
  // Serving 40 000 files over file:// is mostly delta search: skip it, the content is local anyway.
  await git(dir, ['config', 'pack.window', '0']);
  // -f: Debian's trees hold files upstream's .gitignore lists (e.g. regenerated build scripts).
  await git(dir, ['add', '-A', '-f']);
  await git(dir, ['commit', '-q', '-m', `${name} ${version} (Debian source)`]);
  const tag = `debian-${version.replace(/[^A-Za-z0-9.+-]/g, '_')}`;
  await git(dir, ['tag', '-a', '-m', tag, tag]);
  return { url: `file://${dir}`, commit: await git(dir, ['rev-parse', 'HEAD']), tag, version };
}

/** Git repositories of the Debian Xen and QEMU sources the debian rig builds from, under root. */
export async function debianSourceRepos(cacheDir: string, root: string): Promise<{ xen: TestRepo; qemu: TestRepo }> {
  const log = () => {};
  const plan = await planDebianRig(cacheDir, { provider: 'debian' }, log);
  const xenTree = await debianSourceTree(cacheDir, plan.apt, XEN_SOURCE, plan.xen.binary.version, log);
  const qemuTree = await debianSourceTree(cacheDir, plan.qemuApt, QEMU_SOURCE, plan.qemu.sourceVersion, log);
  await mkdir(root, { recursive: true });
  const [xen, qemu] = await Promise.all([
    repoFrom(xenTree, join(root, 'xen'), 'xen', plan.xen.binary.version),
    repoFrom(qemuTree, join(root, 'qemu'), 'qemu', plan.qemu.sourceVersion),
  ]);
  return { xen, qemu };
}
