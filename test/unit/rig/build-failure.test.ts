// A tree under test that does not build is the product failing: the first real error of its
// log, the log's tail and the step, as a BuildFailure. What the host did (a stop, a missing
// tool, a full disk, a kill) and what a tree not under test did stay infrastructure errors.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { InfraError, ProductFailure } from '../../../src/errors.js';
import { ComponentBuild } from '../../../src/rig/build/component.js';
import { BuildFailure, TAIL_BYTES, firstBuildError, readBuildLog, type BuildReport } from '../../../src/rig/build/failure.js';
import { ensureComponents, planComponent, type ComponentRecipe } from '../../../src/rig/build/recipe.js';
import { withStop } from '../../../src/host/stop.js';
import { cacheWithToolchain } from '../../support/toolchain-cache.js';

const scratch = mkdtempSync(join(tmpdir(), 'xpv-build-failure-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));
let dirs = 0;
const fresh = () => mkdtempSync(join(scratch, `d${dirs++}-`));
const quiet = () => undefined;

const has = (tool: string) => {
  try {
    execFileSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
};

const lines = (text: string) => text.split('\n');

describe('the first error of a build log', () => {
  it("is gcc's first error in a parallel make, not a warning before it nor make's trailers after it", () => {
    const log = `make[1]: Entering directory '/w/src/xen'
  CC      common/sched/core.o
common/sched/core.c: In function 'sched_init':
common/sched/core.c:88:9: warning: unused variable 'cpu' [-Wunused-variable]
   88 |     int cpu;
      |         ^~~
  CC      arch/arm/setup.o
arch/arm/setup.c:412:5: error: implicit declaration of function 'setup_virtio_pci' [-Werror=implicit-function-declaration]
  412 |     setup_virtio_pci();
      |     ^~~~~~~~~~~~~~~~
arch/arm/domain_build.c:77:1: error: expected ';' before '}' token
cc1: all warnings being treated as errors
make[3]: *** [Rules.mk:250: arch/arm/setup.o] Error 1
make[2]: *** [Rules.mk:268: arch/arm] Error 2
make[1]: *** [Makefile:601: xen] Error 2
make: *** [Makefile:181: __sub-make] Error 2`;
    expect(firstBuildError(lines(log))).toBe("arch/arm/setup.c:412:5: error: implicit declaration of function 'setup_virtio_pci' [-Werror=implicit-function-declaration]");
  });

  it("is clang's fatal error, with gcc's colours taken off", () => {
    expect(firstBuildError(["hw/xen/xen-pvh-common.c:12:10: fatal error: 'hw/xen/missing.h' file not found", '   12 | #include "hw/xen/missing.h"'])).toBe(
      "hw/xen/xen-pvh-common.c:12:10: fatal error: 'hw/xen/missing.h' file not found",
    );
    expect(firstBuildError(['\x1b[01m\x1b[Kfoo.c:1:2:\x1b[m\x1b[K \x1b[01;31m\x1b[Kerror: \x1b[m\x1b[Kboom\r'])).toBe('foo.c:1:2: error: boom');
  });

  it("is the linker's undefined reference, not collect2's summary", () => {
    const log = `  LD      libxenlight.so.4.21.0
/usr/lib/gcc-cross/aarch64-linux-gnu/12/../../../../aarch64-linux-gnu/bin/ld: libxl_dom.o: in function \`libxl__build_pre':
/w/src/tools/libs/light/libxl_dom.c:344:(.text+0x1a4): undefined reference to \`xc_dom_set_virtio_pci'
collect2: error: ld returned 1 exit status
make[4]: *** [/w/src/tools/libs/libs.mk:100: libxenlight.so.4.21.0] Error 1`;
    expect(firstBuildError(lines(log))).toBe("/w/src/tools/libs/light/libxl_dom.c:344:(.text+0x1a4): undefined reference to `xc_dom_set_virtio_pci'");
    expect(firstBuildError(['[812/2110] Linking target qemu-system-aarch64', 'ld.lld: error: undefined symbol: xen_pvh_init', '>>> referenced by xen-pvh.c'])).toBe('ld.lld: error: undefined symbol: xen_pvh_init');
    expect(firstBuildError(['/usr/bin/aarch64-linux-gnu-ld: cannot find -lxenctrl: No such file or directory'])).toBe('/usr/bin/aarch64-linux-gnu-ld: cannot find -lxenctrl: No such file or directory');
  });

  it("is meson's and configure's own error when nothing compiled", () => {
    const meson = `The Meson build system
Version: 1.7.0
Run-time dependency xencontrol found: NO (tried pkgconfig)

../meson.build:1184:15: ERROR: Dependency "xencontrol" not found, tried pkgconfig

A full log can be found at /w/build/meson-logs/meson-log.txt

ERROR: meson setup failed`;
    expect(firstBuildError(lines(meson))).toBe('../meson.build:1184:15: ERROR: Dependency "xencontrol" not found, tried pkgconfig');
    expect(firstBuildError(['Using \'./build\' as the directory for build output', 'ERROR: Unknown option --disable-werrr', 'Try \'./configure --help\' for more information'])).toBe(
      'ERROR: Unknown option --disable-werrr',
    );
    expect(firstBuildError(['checking for xz... no', 'configure: error: Unable to find xz, please install xz', 'make: *** [Makefile:1: x] Error 1'])).toBe(
      'configure: error: Unable to find xz, please install xz',
    );
  });

  it("is make's own complaint over its trailers, and a trailer when that is all there is", () => {
    expect(firstBuildError(["make[1]: *** No rule to make target 'arch/arm/vpci.c', needed by 'arch/arm/vpci.o'.  Stop.", 'make: *** [Makefile:181: __sub-make] Error 2'])).toBe(
      "make[1]: *** No rule to make target 'arch/arm/vpci.c', needed by 'arch/arm/vpci.o'.  Stop.",
    );
    expect(firstBuildError(['Rules.mk:12: *** missing separator.  Stop.'])).toBe('Rules.mk:12: *** missing separator.  Stop.');
    expect(firstBuildError(['doing things', 'make[2]: *** [Makefile:9: all] Error 1', 'make: *** [Makefile:3: all] Error 2'])).toBe('make[2]: *** [Makefile:9: all] Error 1');
    expect(firstBuildError(['FAILED: libqemu-aarch64-softmmu.a.p/hw_xen_xen-pvh.c.o', 'ninja: build stopped: subcommand failed.'])).toBe('FAILED: libqemu-aarch64-softmmu.a.p/hw_xen_xen-pvh.c.o');
  });

  it('finds nothing in a log without an error, and takes no warning for one', () => {
    expect(firstBuildError(["foo.c:3:1: warning: 'error_count' is deprecated", 'note: error handling changed', 'all done'])).toBeUndefined();
    expect(firstBuildError(['error[E0425]: cannot find value `pvh` in this scope'])).toBe('error[E0425]: cannot find value `pvh` in this scope');
  });
});

describe("a failed step's log as a report quotes it", () => {
  it('keeps the last 40 lines of the output, not the header nor the exit line, within 8 KiB', async () => {
    const file = join(fresh(), 'build.log');
    const out = Array.from({ length: 100 }, (_, i) => (i === 10 ? 'x.c:1:2: error: first' : `line ${i}`));
    writeFileSync(file, `$ make -j2\ncwd: /w\n${out.join('\n')}\n\nexit: 2 after 1.0 s\n`);
    const reading = await readBuildLog(file, 2);
    expect(reading.firstError).toBe('x.c:1:2: error: first');
    expect(lines(reading.tail)).toEqual(out.slice(60));
    expect(reading.hostTrouble).toBeUndefined();

    const wide = join(fresh(), 'wide.log');
    writeFileSync(wide, `$ make\n${Array.from({ length: 60 }, (_, i) => `${i} ${'w'.repeat(2000)}`).join('\n')}\n`);
    const bounded = await readBuildLog(wide, 1);
    expect(Buffer.byteLength(bounded.tail)).toBeLessThanOrEqual(TAIL_BYTES);
    // Each line cut at 1000 characters: eight of them fit.
    expect(lines(bounded.tail)).toHaveLength(8);
    expect(bounded.tail.startsWith('52 ')).toBe(true);
  });
});

/** A build whose steps are judged as a tree under test's (or not). */
const startBuild = (underTest: boolean) => ComponentBuild.start(fresh(), 'source-xen', 'k'.repeat(64), quiet, { underTest, label: 'xen' });
const failureOf = (p: Promise<unknown>) =>
  p.then(
    () => undefined,
    (e: unknown) => e as Error,
  );
// One stream, as make's own output is on a terminal: two pipes read apart have no order between them.
const COMPILER_FAILS = 'exec 2>&1; echo "  CC      x.o"; echo "x.c:1:2: error: boom" >&2; echo "make: *** [Makefile:2: x.o] Error 1"; exit 2';

describe('a failed build step', () => {
  it('of a tree under test is a BuildFailure: a product failure with the component, step, log, first error and tail', async () => {
    const build = await startBuild(true);
    const err = await failureOf(build.step('make -j2', 'build.log', 'sh', ['-c', COMPILER_FAILS]));
    expect(err).toBeInstanceOf(BuildFailure);
    expect(err).toBeInstanceOf(ProductFailure);
    const f = (err as BuildFailure).facts;
    expect(f).toMatchObject({ component: 'xen', step: 'make -j2', exitCode: 2, logFile: join(build.logs, 'build.log'), firstError: 'x.c:1:2: error: boom' });
    expect(lines(f.tail)).toEqual(['  CC      x.o', 'x.c:1:2: error: boom', 'make: *** [Makefile:2: x.o] Error 1']);
    expect(err!.message).toMatch(/^xen: make -j2 failed \(exit 2, \d+ s\): x\.c:1:2: error: boom\nfull log: .*build\.log\nlast lines of the log:\n {2}CC {6}x\.o\n/);
    expect((err as BuildFailure).report(1234)).toEqual({
      component: 'xen',
      status: 'failed',
      cached: false,
      durationMs: 1234,
      message: 'x.c:1:2: error: boom',
      excerpt: f.tail,
      logFile: f.logFile,
      step: 'make -j2',
    });
  });

  it('of a tree not under test stays an InfraError', async () => {
    const build = await startBuild(false);
    const err = await failureOf(build.step('make -j2', 'build.log', 'sh', ['-c', COMPILER_FAILS]));
    expect(err).toBeInstanceOf(InfraError);
    expect(err!.message).toMatch(/^source-xen: make -j2 failed \(exit 2, \d+ s\); last 30 lines of /);
  });

  it('that the run stopped stays an InfraError, even under test', async () => {
    const build = await startBuild(true);
    const halt = new AbortController();
    setTimeout(() => halt.abort('timeout-minutes (1) passed'), 300);
    const err = await failureOf(withStop(halt.signal, () => build.step('make -j2', 'build.log', 'sh', ['-c', 'echo "x.c:1:2: error: late"; exec sleep 30'])));
    expect(err).toBeInstanceOf(InfraError);
    expect(err!.message).toBe('timeout-minutes (1) passed');
  });

  it('whose program is missing, that ran out of disk or was killed stays an InfraError, saying why', async () => {
    const build = await startBuild(true);
    const missing = await failureOf(build.step('ninja', 'ninja.log', 'xpv-no-such-build-tool', []));
    expect(missing).toBeInstanceOf(InfraError);
    expect(missing!.message).toMatch(/\nnot counted as a failure of the tree under test: its program could not be run \(exit 127\)$/);
    const full = await failureOf(build.step('make', 'make.log', 'sh', ['-c', 'echo "x.c:9:1: fatal error: error writing to /tmp/ccX.s: No space left on device" >&2; exit 2']));
    expect(full).toBeInstanceOf(InfraError);
    expect(full!.message).toMatch(/\nnot counted as a failure of the tree under test: x\.c:9:1: fatal error: error writing to \/tmp\/ccX\.s: No space left on device$/);
    const killed = await failureOf(build.step('make', 'killed.log', 'sh', ['-c', 'kill -KILL $$']));
    expect(killed).toBeInstanceOf(InfraError);
    expect(killed!.message).toMatch(/\nnot counted as a failure of the tree under test: killed by SIGKILL$/);
  });

  it.skipIf(!has('cc') || !has('make'))('of a real C file that does not compile names the compiler error', async () => {
    const build = await startBuild(true);
    const tree = fresh();
    writeFileSync(join(tree, 'Makefile'), 'all: x.o\nx.o: x.c\n\tcc -c x.c -o x.o\n');
    writeFileSync(join(tree, 'x.c'), 'int main(void)\n{\n  return undeclared_thing;\n}\n');
    const err = await failureOf(build.step('make', 'build.log', 'make', ['-C', tree, 'LC_ALL=C'], { env: { LC_ALL: 'C' } }));
    expect(err).toBeInstanceOf(BuildFailure);
    const f = (err as BuildFailure).facts;
    expect(f.firstError).toMatch(/^x\.c:3:\d+: error: .*undeclared_thing/);
    expect(f.tail).toContain('make: *** [');
    expect(readFileSync(f.logFile, 'utf8')).toContain(f.firstError);
  });
});


/** A recipe whose make runs one real step: `script` through sh. */
function recipe(name: string, label: string, underTest: boolean, script: string): ComponentRecipe {
  return {
    plan: planComponent({ component: name, script }),
    label,
    ...(underTest ? { underTest } : {}),
    patches: [],
    async fetch({ build }) {
      const tree = join(build.work, 'src');
      mkdirSync(tree);
      return tree;
    },
    async make({ build, out }) {
      await build.step('make', 'build.log', 'sh', ['-c', script]);
      writeFileSync(join(out, 'result'), 'ok\n');
      return { files: { result: 'result' }, features: {}, built: `${name} built` };
    },
  };
}

describe('ensureComponents reports the builds of trees under test', () => {
  it('each one passed, built or from the cache, and none of the others', async () => {
    const { cacheDir, toolchain } = cacheWithToolchain(scratch);
    const recipes = { linux: recipe('linux', 'linux', false, 'true'), xen: recipe('source-xen', 'xen', true, 'echo built'), qemu: recipe('source-qemu', 'qemu', true, 'true') };
    const first: BuildReport[] = [];
    await ensureComponents(cacheDir, recipes, toolchain, quiet, { onBuild: (b) => first.push(b) });
    expect(first.map(({ durationMs: _, ...b }) => b)).toEqual([
      { component: 'xen', status: 'passed', cached: false },
      { component: 'qemu', status: 'passed', cached: false },
    ]);
    for (const b of first) expect(b.durationMs).toBeGreaterThanOrEqual(0);
    const again: BuildReport[] = [];
    await ensureComponents(cacheDir, recipes, toolchain, quiet, { onBuild: (b) => again.push(b) });
    expect(again.map((b) => [b.component, b.status, b.cached])).toEqual([
      ['xen', 'passed', true],
      ['qemu', 'passed', true],
    ]);
  });

  it('a failed one with its first error, tail, log and step, before the BuildFailure is thrown', async () => {
    const { cacheDir, toolchain } = cacheWithToolchain(scratch);
    const heard: BuildReport[] = [];
    const recipes = { xen: recipe('source-xen', 'xen', true, 'true'), qemu: recipe('source-qemu', 'qemu', true, 'echo "../hw/xen/xen-pvh.c:5:3: error: nope" >&2; exit 1') };
    const err = await failureOf(ensureComponents(cacheDir, recipes, toolchain, quiet, { onBuild: (b) => heard.push(b) }));
    expect(err).toBeInstanceOf(BuildFailure);
    expect(heard.map((b) => [b.component, b.status])).toEqual([
      ['xen', 'passed'],
      ['qemu', 'failed'],
    ]);
    expect(heard[1]).toMatchObject({ cached: false, message: '../hw/xen/xen-pvh.c:5:3: error: nope', excerpt: '../hw/xen/xen-pvh.c:5:3: error: nope', step: 'make' });
    expect(heard[1]!.logFile).toMatch(/\/work\/source-qemu-[0-9a-f]{16}-\d+\/logs\/build\.log$/);
  });

  it('and a failed build of a tree not under test is an InfraError, reported to no one', async () => {
    const { cacheDir, toolchain } = cacheWithToolchain(scratch);
    const heard: BuildReport[] = [];
    const err = await failureOf(ensureComponents(cacheDir, { linux: recipe('linux', 'linux', false, 'echo "x.c:1:1: error: e" >&2; exit 2') }, toolchain, quiet, { onBuild: (b) => heard.push(b) }));
    expect(err).toBeInstanceOf(InfraError);
    expect(heard).toEqual([]);
  });
});
