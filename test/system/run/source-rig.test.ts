// The source provider end to end: Xen (hypervisor and tools) and QEMU built from local git
// repositories made here from Debian's source packages, addressed as file:// URLs by tag and
// by commit id, with our trap-unmapped-accesses change passed as the user's Xen patch; the
// rig then boots and passes boot-smoke and the seed flow. The repositories are shaped like
// upstream's where it matters (test/support/source-repos.ts): QEMU's has no subproject trees
// (they come from a folder, as on a runner without network), and Xen's public headers differ
// from the arm64 sysroot's, which a patched QEMU refuses to compile against. Cold, the two
// builds take about 4 minutes on 2 cores; warm (components cached by commit id) a few seconds.
import { readFileSync } from 'node:fs';
import { appendFile, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run as runTool } from '../../../src/host/exec.js';
import { readRig } from '../../../src/rig/bundle.js';
import { defaultCacheDir, rigDir } from '../../../src/rig/index.js';
import { validateJunit } from '../../support/junit.js';
import { ROOT, startCli } from '../../support/cli.js';
import { debianSourceRepos, type TestRepo } from '../../support/source-repos.js';

const XEN_PATCH = join(ROOT, 'src/rig/debian/patches/xen/0001-xen-arm-dom0less-trap-unmapped-accesses.patch');
const QEMU_HEADERS_PATCH = join(ROOT, 'test/fixtures/rig/qemu-needs-tree-xen-headers.patch');

let scratch: string;
let xen: TestRepo;
let qemu: TestRepo;
let qemuSubprojects: string;
let movedSubprojects: string[];

beforeAll(async () => {
  // A fixed place: the URLs are part of the rig's key (its manifest names them), so the
  // same URLs on every run let a warm run reuse the bundle, not only the components.
  scratch = join(tmpdir(), 'xen-pvh-virtio-source-repos');
  await rm(scratch, { recursive: true, force: true });
  ({ xen, qemu, qemuSubprojects, movedSubprojects } = await debianSourceRepos(defaultCacheDir(), scratch));
}, 15 * 60_000);

afterAll(async () => {
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

function sourceArgs(): string[] {
  return [
    ...['--rig', 'source', '--xen-repo', xen.url, '--xen-ref', xen.tag, '--qemu-repo', qemu.url, '--qemu-ref', qemu.commit, '--xen-patches', XEN_PATCH],
    ...['--qemu-patches', QEMU_HEADERS_PATCH, '--qemu-subprojects', qemuSubprojects],
  ];
}

function property(xml: string, name: string): string | undefined {
  return new RegExp(`<property name="${name.replace(/\./g, '\\.')}" value="([^"]*)"`).exec(xml)?.[1];
}

describe('source rig from local git repositories', () => {
  it('builds upstream-shaped trees against their own Xen headers, records the versions and commit ids and passes boot-smoke', { timeout: 100 * 60_000 }, async () => {
    // Debian's tree ships keycodemapdb and the softfloat libraries; upstream's git only their wraps.
    expect(movedSubprojects).toEqual(expect.arrayContaining(['keycodemapdb', 'berkeley-softfloat-3']));
    const run = startCli(['run', 'boot-smoke', ...sourceArgs(), '--timeout-minutes', '95']);
    const { code } = await run.done;
    expect(code, run.stderr()).toBe(0);
    const xml = readFileSync(run.junitPath, 'utf8');
    validateJunit(xml);
    expect(xml).toMatch(/<testsuite name="boot-smoke" [^\n]* tests="6" failures="0" errors="0" skipped="0"/);
    expect(property(xml, 'rig.provider')).toBe('source');
    expect(property(xml, 'rig.version.xen-commit')).toBe(xen.commit);
    expect(property(xml, 'rig.version.qemu-commit')).toBe(qemu.commit);
    // The trees' own versions (Xen's Makefile, QEMU's VERSION file) and where they came from.
    expect(property(xml, 'rig.version.xen')).toMatch(new RegExp(`^4\\.17\\.5\\S* \\(${xen.tag.replace(/[.+]/g, '\\$&')} @ ${xen.commit.slice(0, 12)}\\)$`));
    expect(property(xml, 'rig.version.qemu')).toBe(`${qemu.version.replace(/^\d+:/, '').replace(/[+~-].*$/, '')} (${qemu.commit.slice(0, 12)})`);

    const rig = await readRig(rigDir(defaultCacheDir(), property(xml, 'rig.key')!));
    const m = rig.manifest;
    expect(m.provider).toBe('source');
    // Read off the built sources: IOREQ from the built .config, the dom0less property from
    // the patched Xen tree, pci-intx-irq-base from QEMU 10's xenpvh machine.
    expect(m.capabilities).toEqual(expect.arrayContaining(['ioreq', 'trap-unmapped-accesses', 'qemu-xenpvh-pci', 'xen-tools']));
    const byRole = (role: string) => m.files.find((f) => f.role === role)!;
    expect(byRole('xen-efi').origin).toMatchObject({ repo: xen.url, commit: xen.commit, patches: [{ file: '0001-xen-arm-dom0less-trap-unmapped-accesses.patch', from: 'user' }] });
    expect(byRole('backend-qemu').origin).toMatchObject({ repo: qemu.url, commit: qemu.commit, patches: [{ file: 'qemu-needs-tree-xen-headers.patch', from: 'user' }] });
    // It compiled with the patch that refuses every Xen's public headers but the tree's; the
    // subprojects upstream's git lacks came from the folder (unless a warm cache built it earlier).
    expect(byRole('backend-qemu').origin.built).toMatch(/meson subprojects the tree lacked: .*keycodemapdb from (--qemu-subprojects|cache)/);
    // dom0's tools are ours, not Debian's xen-utils.
    expect(byRole('dom0-ramdisk').origin.built).toContain(`xen-tools (built from source)=4.17.5`);
    expect(byRole('dom0-ramdisk').origin.built).not.toContain('xen-utils');
  });

  it("reports a dom0less bring-up that fails at boot, with dom0's lines: this tree's init-dom0less and a two-vCPU domU", { timeout: 20 * 60_000 }, async () => {
    // The tree's own tools, unlike the debian rig's, lack our 0002 fix: init-dom0less fails for
    // any domU with two vCPUs (docs/rig-facts.md, "init-dom0less and several vCPUs").
    const file = join(scratch, 'two-vcpus.yaml');
    await writeFile(file, 'name: two-vcpus\ndomains:\n  domU1: { memory: 512M, cpus: 2, vpl011: true }\nsteps:\n  - wait: { console: domU1, for: shell, timeout: 5m }\n  - ssh: { run: xl list, expect: "^dom0less-1 " }\n');
    const run = startCli(['run', file, ...sourceArgs()]);
    const { code } = await run.done;
    expect(code, run.stderr()).toBe(1);
    const xml = readFileSync(run.junitPath, 'utf8');
    validateJunit(xml);
    expect(xml).toMatch(/<testsuite name="two-vcpus" [^\n]* failures="1" errors="0"/);
    // When dom0 prints it, whichever step runs then (the domU may reach its shell first),
    // not at some later timeout: the failure names dom0's own line.
    const failure = /<failure message="([^"]*)"/.exec(xml)?.[1] ?? '';
    expect(failure).toMatch(/^scenario two-vcpus: cut short by a boot fault in dom0 \(the dom0less system did not come up\) on dom0: xen-pvh-virtio: boot fault: init-dom0less failed \(exit 1\)/);
    expect(failure).toContain('init-dom0less: writing to xenstore: Success');
    expect(run.stderr()).not.toMatch(/\[2\/2\] ok/);
  });

  it('serves the seed flow with its own tools and QEMU: backend, rescan, ping', { timeout: 20 * 60_000 }, async () => {
    const run = startCli(['run', 'virtio-pci-rescan-ping', ...sourceArgs()]);
    const { code } = await run.done;
    expect(code, run.stderr()).toBe(0);
    // Same repositories, refs and patches as the test before: the bundle itself is reused.
    expect(run.stderr()).toMatch(/rig cache hit/);
    const xml = readFileSync(run.junitPath, 'utf8');
    expect(xml).toMatch(/<testsuite name="virtio-pci-rescan-ping" [^\n]* failures="0" errors="0" skipped="0"/);
  });
});

describe('an upstream-shaped QEMU without its subprojects, offline', () => {
  it('stops before configure with the missing subprojects named and how to provide them', { timeout: 20 * 60_000 }, async () => {
    // No folder and no way out (a proxy nobody listens on): as on a runner without network.
    // Another QEMU key (no patch), so the rig is not the cached one; Xen is.
    const offline = { https_proxy: 'http://127.0.0.1:9', http_proxy: 'http://127.0.0.1:9', HTTPS_PROXY: 'http://127.0.0.1:9', HTTP_PROXY: 'http://127.0.0.1:9' };
    const args = ['--rig', 'source', '--xen-repo', xen.url, '--xen-ref', xen.tag, '--qemu-repo', qemu.url, '--qemu-ref', qemu.commit, '--xen-patches', XEN_PATCH];
    const run = startCli(['run', 'boot-smoke', ...args], { env: { ...process.env, ...offline } });
    const { code } = await run.done;
    expect(code, run.stderr()).toBe(3);
    const log = run.stderr();
    expect(log).toMatch(/qemu: the tree has no .*keycodemapdb/);
    expect(log).toContain('qemu: the tree lacks meson subprojects the build needs, and they could not be obtained:');
    expect(log).toMatch(/keycodemapdb \(subprojects\/keycodemapdb\.wrap: wrap-git https:\/\/gitlab\.com\/qemu-project\/keycodemapdb\.git at [0-9a-f]{40}\): not in --qemu-subprojects \(not given\), not cached, and the download failed/);
    expect(log).toContain('give --qemu-subprojects a folder holding keycodemapdb/');
    // Stopped before configure: no ninja ran.
    expect(log).not.toMatch(/qemu: configure/);
  });
});

describe('a Xen tree that does not build', () => {
  it('is the product failing: a "build xen" test case with the compiler error, the scenarios skipped, exit 1', { timeout: 20 * 60_000 }, async () => {
    // A patch that applies but breaks the hypervisor's compile, made against the repository's own file.
    const file = 'xen/common/version.c';
    const original = await readFile(join(scratch, 'xen', file), 'utf8');
    await writeFile(join(scratch, 'broken.c'), original.replace('#include <xen/compile.h>', '#include <xen/compile.h>\n#error "xen-pvh-virtio: this tree does not build"'));
    const diff = await runTool('diff', ['-u', '--label', `a/${file}`, '--label', `b/${file}`, join(scratch, 'xen', file), join(scratch, 'broken.c')], { allowFailure: true });
    expect(diff.stdout).toContain('+#error');
    const patch = join(scratch, 'break-xen.patch');
    await writeFile(patch, diff.stdout);

    const run = startCli(['run', 'boot-smoke', '--rig', 'source', '--xen-repo', xen.url, '--xen-ref', xen.tag, '--xen-patches', patch, '--qemu-repo', qemu.url, '--qemu-ref', qemu.commit, '--qemu-subprojects', qemuSubprojects]);
    const { code } = await run.done;
    expect(code, run.stderr()).toBe(1);
    expect(run.stderr()).toMatch(/build xen failed at make -j\d+ .*common\/version\.c:\d+:\d+: error: #error "xen-pvh-virtio: this tree does not build"/);
    const xml = readFileSync(run.junitPath, 'utf8');
    validateJunit(xml);
    expect(xml).toMatch(/<testsuite name="rig build" [^>]*tests="1" failures="1" errors="0"/);
    expect(xml).toMatch(/<testcase classname="xen-pvh-virtio\.rig build" name="build xen"[^>]*>\s*<failure message="[^"]*#error &quot;xen-pvh-virtio: this tree does not build&quot;[^"]*" type="build">/);
    // Nothing ran, and nothing is an infrastructure error.
    expect(xml).toMatch(/<skipped message="the rig did not build: build xen failed"\/>/);
    expect(xml).not.toContain('<error');
    const result = JSON.parse(readFileSync(join(run.logsDir, 'result.json'), 'utf8')) as { result: { builds: { component: string; status: string }[] } };
    expect(result.result.builds).toEqual([expect.objectContaining({ component: 'xen', status: 'failed' })]);
  });
});

describe('source rig from local trees (xen-path, qemu-path), as a pull request check builds its checkout', () => {
  /** A QEMU checkout with one uncommitted line the built binary must carry. */
  const MARKER = 'xen-pvh-virtio local tree: uncommitted line';
  let checkout: string;

  beforeAll(async () => {
    checkout = join(scratch, 'qemu-checkout');
    await runTool('git', ['clone', '-q', qemu.url, checkout]);
    await appendFile(join(checkout, 'hw/xen/xen-pvh-common.c'), `\nconst char xen_pvh_virtio_marker[] __attribute__((used)) = "${MARKER}";\n`);
  }, 5 * 60_000);

  it('reuses the ref build for a clean checkout, rebuilds only QEMU for its uncommitted change, and passes boot-smoke and the seed', { timeout: 30 * 60_000 }, async () => {
    // The Xen checkout is the repository the ref tests fetched from, clean at the tagged
    // commit: the very tree, so its component is a cache hit.
    const args = ['--rig', 'source', '--xen-path', join(scratch, 'xen'), '--qemu-path', checkout, '--xen-patches', XEN_PATCH, '--qemu-subprojects', qemuSubprojects];
    const run = startCli(['run', 'boot-smoke', 'virtio-pci-rescan-ping', ...args, '--timeout-minutes', '28']);
    const { code } = await run.done;
    expect(code, run.stderr()).toBe(0);
    const log = run.stderr();
    expect(log).toMatch(new RegExp(`xen: git checkout \\S+ at ${xen.commit}; qemu: git checkout \\S+ at ${qemu.commit} \\+ uncommitted changes in 1 file`));
    // Unless a warm cache already holds the whole rig: Xen from the ref build, QEMU built
    // anew from the copied checkout (or found from an earlier run of the same change).
    if (!/rig cache hit/.test(log)) {
      expect(log).toMatch(/source-xen component cache hit/);
      expect(log).toMatch(/qemu: copying \d+ files of git checkout|source-qemu component cache hit/);
    }
    expect(log).not.toMatch(/building the source-xen component/);
    const xml = readFileSync(run.junitPath, 'utf8');
    validateJunit(xml);
    expect(xml).toMatch(/<testsuite name="boot-smoke" [^\n]* failures="0" errors="0" skipped="0"/);
    expect(xml).toMatch(/<testsuite name="virtio-pci-rescan-ping" [^\n]* failures="0" errors="0" skipped="0"/);
    // The report says what was built: the commit, and that the checkout had changes (their hash).
    expect(property(xml, 'rig.version.xen-path')).toBe(join(scratch, 'xen'));
    expect(property(xml, 'rig.version.xen-commit')).toBe(xen.commit);
    expect(property(xml, 'rig.version.xen-uncommitted')).toBe('none');
    expect(property(xml, 'rig.version.qemu-commit')).toBe(qemu.commit);
    expect(property(xml, 'rig.version.qemu-uncommitted')).toMatch(/^[0-9a-f]{64}$/);
    expect(property(xml, 'rig.version.qemu')).toMatch(new RegExp(`^10\\.0\\.\\d+ \\(local checkout ${qemu.commit.slice(0, 12)} \\+ uncommitted changes\\)$`));

    // The uncommitted line is in the QEMU dom0 runs.
    const rig = await readRig(rigDir(defaultCacheDir(), property(xml, 'rig.key')!));
    const backend = rig.manifest.files.find((f) => f.role === 'backend-qemu')!;
    expect((await readFile(join(rig.dir, backend.path))).includes(Buffer.from(MARKER))).toBe(true);
    expect(backend.origin).toMatchObject({ repo: checkout, commit: qemu.commit });
    expect(backend.origin.built).toMatch(/from git checkout .* \+ uncommitted changes in 1 file \(sha256 [0-9a-f]{16}\)/);
  });
});

describe('incremental builds (incremental-builds: true, as every bisect step builds)', () => {
  /** A line the second build adds to one QEMU source; the binary dom0 runs must carry it. */
  const MARKER = 'xen-pvh-virtio incremental build: changed line';
  let checkout: string;

  beforeAll(async () => {
    checkout = join(scratch, 'qemu-incremental');
    await runTool('git', ['clone', '-q', qemu.url, checkout]);
    // A file nothing compiles, new on every run: the QEMU component is built every time, in
    // the build tree an earlier run left (warm) or a new one (cold).
    await writeFile(join(checkout, 'xen-pvh-virtio-test-run'), `${new Date().toISOString()} ${process.pid}\n`);
  }, 5 * 60_000);

  it('rebuilds QEMU for a one-file change in its kept tree and build folder, without configure, and serves the seed with it', { timeout: 30 * 60_000 }, async () => {
    const args = ['--rig', 'source', '--xen-path', join(scratch, 'xen'), '--qemu-path', checkout, '--xen-patches', XEN_PATCH, '--qemu-subprojects', qemuSubprojects, '--incremental-builds', 'true'];
    const first = startCli(['rig', 'build', ...args]);
    expect((await first.done).code, first.stderr()).toBe(0);
    expect(first.stderr()).toMatch(/qemu: build tree \S+trees\/source-qemu: (a full build|reused)/);

    await appendFile(join(checkout, 'hw/xen/xen-pvh-common.c'), `\nconst char xen_pvh_virtio_incremental[] __attribute__((used)) = "${MARKER}";\n`);
    const second = startCli(['run', 'virtio-pci-rescan-ping', ...args, '--timeout-minutes', '25']);
    const { code } = await second.done;
    const log = second.stderr();
    expect(code, log).toBe(0);
    // Only the changed file went into the tree, configure did not run, ninja compiled little.
    expect(log).toMatch(/qemu: build tree \S+: reused, 1 source file changed since its build of component \w{12}: hw\/xen\/xen-pvh-common\.c\n/);
    expect(log).toContain('qemu: configure: skipped');
    expect(log).toMatch(new RegExp(`qemu: syncing \\d+ files of ${checkout} into the build tree`));
    expect(log).not.toMatch(/source-qemu: configure/);
    const xml = readFileSync(second.junitPath, 'utf8');
    validateJunit(xml);
    expect(xml).toMatch(/<testsuite name="virtio-pci-rescan-ping" [^\n]* failures="0" errors="0" skipped="0"/);
    const rig = await readRig(rigDir(defaultCacheDir(), property(xml, 'rig.key')!));
    const backend = rig.manifest.files.find((f) => f.role === 'backend-qemu')!;
    expect((await readFile(join(rig.dir, backend.path))).includes(Buffer.from(MARKER))).toBe(true);
    expect(backend.origin.built).toMatch(/built incrementally in the persistent build tree \(1 source file changed since its build of component \w{12}\)/);
    const ninja = /source-qemu: ninja -j\d+ \S+ \(about 2 min on 2 idle cores\) done in (\d+) s/.exec(log);
    const steps = Number(/\[\d+\/(\d+)\]/.exec(readFileSync(join(defaultCacheDir(), 'components', 'source-qemu', /source-qemu component ready: \S+\/(\w{64})/.exec(log)![1]!, 'logs', 'build.log'), 'utf8'))?.[1] ?? NaN);
    // A full build is about 1,900 ninja steps; a change to one file links again and little else.
    expect(steps, 'ninja steps of the incremental build').toBeLessThan(60);
    console.log(`incremental QEMU build: ${steps} ninja steps, ninja ${ninja?.[1] ?? '?'} s`);
  });
});
