// Local git repositories made from Debian's Xen and QEMU source packages (the trees the
// debian provider unpacks into the shared cache), standing in for upstream in tests, and
// shaped like upstream's git where it matters:
// - QEMU's repository carries only the .wrap files of the subprojects meson fetches (Debian's
//   source, like a release tarball, ships their trees); those trees go into a separate folder,
//   the way a runner without network keeps them (input qemu-subprojects);
// - Xen's public xen.h defines XEN_PVH_VIRTIO_TREE_HEADER, which no other Xen headers do, so a
//   QEMU patched to require it (test/fixtures/rig/qemu-needs-tree-xen-headers.patch) builds
//   only against this tree's headers, never the arm64 sysroot's libxen-dev (Xen 4.17).
// Fixed names, dates and messages make the commit ids the same on every run and every
// machine (given the same Debian source versions), so the source provider's component
// caches hit.
import { appendFile, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { run } from '../../src/host/exec.js';
import { planDebianRig } from '../../src/rig/debian/build.js';
import { QEMU_SOURCE, XEN_SOURCE } from '../../src/rig/debian/recipe.js';
import { debianSourceTree } from '../../src/rig/debian/sources.js';
import { readWraps } from '../../src/rig/build/subprojects.js';

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

async function repoFrom(tree: string, dir: string, name: string, version: string, shape: (dir: string) => Promise<void> = async () => {}): Promise<TestRepo> {
  await run('cp', ['-a', tree, dir]);
  await shape(dir);
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

/** The definition only this tree's public headers have. */
export const TREE_HEADER_MARK = 'XEN_PVH_VIRTIO_TREE_HEADER';

async function markPublicHeader(dir: string): Promise<void> {
  await appendFile(join(dir, 'xen/include/public/xen.h'), `\n/* Only this tree's headers define it (xen-pvh-virtio test). */\n#define ${TREE_HEADER_MARK} 1\n`);
}

/**
 * Moves the trees of QEMU's wrapped subprojects out of dir into subprojects (upstream's git
 * has only their wraps); returns their names.
 */
async function upstreamShape(dir: string, subprojects: string): Promise<string[]> {
  const moved: string[] = [];
  await rm(subprojects, { recursive: true, force: true });
  await mkdir(subprojects, { recursive: true });
  for (const w of await readWraps(dir)) {
    const from = join(dir, 'subprojects', w.directory);
    const there = await run('test', ['-d', from], { allowFailure: true });
    if (there.exitCode !== 0) continue;
    await run('mv', ['-T', from, join(subprojects, w.directory)]);
    moved.push(w.name);
  }
  return moved;
}

/**
 * Git repositories of the Debian Xen and QEMU sources the debian rig builds from, under root,
 * and the folder of QEMU subprojects its repository lacks (root/qemu-subprojects).
 */
export async function debianSourceRepos(cacheDir: string, root: string): Promise<{ xen: TestRepo; qemu: TestRepo; qemuSubprojects: string; movedSubprojects: string[] }> {
  const log = () => {};
  const plan = await planDebianRig(cacheDir, { provider: 'debian' }, log);
  const xenTree = await debianSourceTree(cacheDir, plan.apt, XEN_SOURCE, plan.xen.binary.version, log);
  const qemuTree = await debianSourceTree(cacheDir, plan.qemuApt, QEMU_SOURCE, plan.qemu.sourceVersion, log);
  await mkdir(root, { recursive: true });
  const qemuSubprojects = join(root, 'qemu-subprojects');
  let movedSubprojects: string[] = [];
  const [xen, qemu] = await Promise.all([
    repoFrom(xenTree, join(root, 'xen'), 'xen', plan.xen.binary.version, markPublicHeader),
    repoFrom(qemuTree, join(root, 'qemu'), 'qemu', plan.qemu.sourceVersion, async (dir) => {
      movedSubprojects = await upstreamShape(dir, qemuSubprojects);
    }),
  ]);
  return { xen, qemu, qemuSubprojects, movedSubprojects };
}

/** A commit of a series, as the bisect test looks for it. */
export interface SeriesCommit {
  commit: string;
  subject: string;
}

/**
 * A series of Xen commits on top of the test repository's tagged commit, in a clone under
 * dir, each built and booted by the bisect test:
 * - good: our trap-unmapped-accesses change, committed (the seed flow passes);
 * - culprit: a "simplification" that reads the property the wrong way round, so the domU's
 *   `trap-unmapped-accesses = <0>` no longer stops the data abort its PCI probe takes at boot
 *   before any backend serves the ECAM window: the seed flow fails;
 * - untestable: a tools change that moves xl's Makefile away, so the harness cannot assemble
 *   a dom0 from the tree (an infrastructure error, a skip in a bisection);
 * - bad: xl's Makefile back (still the culprit's hypervisor).
 * `runMark`, when given, goes into a file of the good commit that nothing compiles: every
 * commit of the series is then new to the component cache, and each step builds its Xen.
 */
export async function xenBisectSeries(
  xen: TestRepo,
  dir: string,
  trapPatch: string,
  runMark?: string,
): Promise<{ url: string; good: SeriesCommit; culprit: SeriesCommit; untestable: SeriesCommit; bad: SeriesCommit }> {
  await rm(dir, { recursive: true, force: true });
  await run('git', ['clone', '-q', xen.url, dir], { env: GIT_ENV });
  await git(dir, ['checkout', '-q', '-b', 'series', xen.tag]);
  let minute = 0;
  const commit = async (subject: string): Promise<SeriesCommit> => {
    // Each commit a minute later than the one before: a fixed, ordered history.
    const at = `2000-01-01T00:${String(++minute).padStart(2, '0')}:00Z`;
    await run('git', ['add', '-A'], { cwd: dir, env: GIT_ENV });
    await run('git', ['commit', '-q', '-m', subject], { cwd: dir, env: { ...GIT_ENV, GIT_AUTHOR_DATE: at, GIT_COMMITTER_DATE: at } });
    return { commit: await git(dir, ['rev-parse', 'HEAD']), subject };
  };
  await run('patch', ['-p1', '-s', '-i', trapPatch], { cwd: dir });
  if (runMark !== undefined) await writeFile(join(dir, 'xen-pvh-virtio-test-run'), `${runMark}\n`);
  const good = await commit('xen/arm: dom0less: add trap-unmapped-accesses for domUs (4.17)');
  const domainBuild = join(dir, 'xen/arch/arm/domain_build.c');
  const text = await readFile(domainBuild, 'utf8');
  const wrong = text.replace('&trap_unmapped) && !trap_unmapped )', '&trap_unmapped) && trap_unmapped )');
  if (wrong === text) throw new Error(`${domainBuild}: the trap-unmapped-accesses parsing the series changes is not there`);
  await writeFile(domainBuild, wrong);
  const culprit = await commit('xen/arm: dom0less: simplify parsing trap-unmapped-accesses');
  await run('git', ['mv', 'tools/xl/Makefile', 'tools/xl/Makefile.new'], { cwd: dir, env: GIT_ENV });
  const untestable = await commit('tools/xl: start moving the build to Makefile.new');
  await run('git', ['mv', 'tools/xl/Makefile.new', 'tools/xl/Makefile'], { cwd: dir, env: GIT_ENV });
  const bad = await commit('tools/xl: keep the Makefile where it was');
  return { url: `file://${dir}`, good, culprit, untestable, bad };
}
