// A kernel from the user's tree (linux-path) built incrementally, as each step of
// `bisect linux` builds it: the second build, after a one-file change, syncs that file alone
// into the kept tree, recompiles little next to its objects, and the kernel boots. The tree is
// Debian's 6.12 source, hard-linked from the cache (no byte of it is copied or written), with a
// file that marks this run, so the component is new to the cache every time: a full build
// cold (about 4 minutes on 2 cores), an incremental one from the tree an earlier run left warm.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { planDebianRig } from '../../../src/rig/debian/build.js';
import { debianSourceTree } from '../../../src/rig/debian/sources.js';
import { defaultCacheDir, rigDir } from '../../../src/rig/index.js';
import { LINUX_SOURCE } from '../../../src/rig/kernel/index.js';
import { readRig } from '../../../src/rig/bundle.js';
import { validateJunit } from '../../support/junit.js';
import { startCli } from '../../support/cli.js';

/** A line the second build adds to one driver; the booted Image must carry it. */
const MARKER = 'xen-pvh-virtio incremental kernel: changed line';
const CHANGED = 'drivers/xen/xenbus/xenbus_probe.c';

let tree: string;

beforeAll(async () => {
  const cacheDir = defaultCacheDir();
  const plan = await planDebianRig(cacheDir, { provider: 'debian', kernel: 'source' }, () => {});
  const source = plan.linux!.source;
  if (source.kind !== 'debian') throw new Error('the default kernel source is not Debian’s');
  const pristine = await debianSourceTree(cacheDir, source.apt, LINUX_SOURCE, source.version, () => {});
  tree = join(tmpdir(), 'xen-pvh-virtio-linux-tree');
  await rm(tree, { recursive: true, force: true });
  // Hard links: 80 000 files in seconds. A file the test changes is replaced, never written in place.
  execFileSync('cp', ['-al', pristine, tree]);
  await writeFile(join(tree, 'xen-pvh-virtio-test-run'), `${new Date().toISOString()} ${process.pid}\n`);
}, 15 * 60_000);

afterAll(async () => {
  if (tree) await rm(tree, { recursive: true, force: true });
});

describe('an incremental kernel build (incremental-builds, as bisect linux builds each step)', () => {
  it('rebuilds the kernel for a one-file change next to its kept objects, and boots it', { timeout: 40 * 60_000 }, async () => {
    const args = ['--kernel', 'source', '--linux-path', tree, '--incremental-builds', 'true'];
    const first = startCli(['rig', 'build', ...args]);
    expect((await first.done).code, first.stderr()).toBe(0);
    expect(first.stderr()).toMatch(/linux: build tree \S+trees\/linux: (a full build|reused)/);

    const file = join(tree, CHANGED);
    const text = await readFile(file, 'utf8');
    await rm(file);
    await writeFile(file, `${text}\nconst char xen_pvh_virtio_incremental[] __used = "${MARKER}";\n`);
    const second = startCli(['run', 'boot-smoke', ...args, '--timeout-minutes', '35']);
    const { code } = await second.done;
    const log = second.stderr();
    expect(code, log).toBe(0);
    expect(log).toMatch(new RegExp(`linux: build tree \\S+: reused, 1 source file changed since its build of component \\w{12}: ${CHANGED.replace(/\./g, '\\.')}\\n`));
    // Synced from the tree where it lies, not copied first.
    expect(log).toMatch(new RegExp(`linux: syncing \\d+ files of ${tree} into the build tree`));
    const xml = readFileSync(second.junitPath, 'utf8');
    validateJunit(xml);
    expect(xml).toMatch(/<testsuite name="boot-smoke" [^\n]* failures="0" errors="0" skipped="0"/);

    const rig = await readRig(rigDir(defaultCacheDir(), /<property name="rig\.key" value="(\w+)"/.exec(xml)![1]!));
    const kernel = rig.manifest.files.find((f) => f.role === 'kernel')!;
    expect((await readFile(join(rig.dir, kernel.path))).includes(Buffer.from(MARKER))).toBe(true);
    expect(kernel.origin.built).toMatch(/built incrementally in the persistent build tree \(1 source file changed since its build of component \w{12}\)/);
    // What make compiled: the changed file and what links the kernel again, not the tree.
    const buildLog = readFileSync(join(defaultCacheDir(), 'components', 'linux', /linux component ready: \S+\/(\w{64})/.exec(log)![1]!, 'logs', 'build.log'), 'utf8');
    const compiled = buildLog.split('\n').filter((l) => /^\s+CC\s/.test(l));
    expect(compiled.some((l) => l.trim().split(/\s+/)[1] === CHANGED.replace(/\.c$/, '.o')), compiled.join('\n')).toBe(true);
    expect(compiled.length, compiled.join('\n')).toBeLessThan(40);
    const took = /linux: make -j\d+ Image \(about 4 min on 2 idle cores\) done in (\d+) s/.exec(log)?.[1];
    console.log(`incremental kernel build: ${compiled.length} files compiled, make ${took ?? '?'} s`);
  });
});
