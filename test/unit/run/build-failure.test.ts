// A run whose trees under test did not build, as `xen-pvh-virtio run` reports it: exit 1 (a
// product failure, not an infrastructure error), the build a failed JUnit test case, every
// scenario skipped saying why, and the first error on stderr and in the summary. The rig
// stage is replaced here by one that fails the way a real source build does (the test of the
// real build is in test/system); nothing boots.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { cliMain } from '../../../src/cli/main-impl.js';
import { BuildFailure, type BuildReport, type ObtainOptions } from '../../../src/rig/index.js';
import { parseResultFile } from '../../../src/report/index.js';
import { validateJunit } from '../../support/junit.js';

const rigStage = vi.hoisted(() => ({ obtain: undefined as undefined | ((opts: ObtainOptions) => Promise<never>) }));

vi.mock('../../../src/rig/index.js', async (importOriginal) => ({
  ...(await importOriginal<typeof import('../../../src/rig/index.js')>()),
  obtainRig: (_request: unknown, opts: ObtainOptions) => rigStage.obtain!(opts),
}));
// Nothing is installed or checked on the host: the rig stage never really runs.
vi.mock('../../../src/host/prerequisites.js', async (importOriginal) => ({
  ...(await importOriginal<typeof import('../../../src/host/prerequisites.js')>()),
  ensureHostTools: async () => undefined,
}));

const work = mkdtempSync(join(tmpdir(), 'xpv-run-build-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const STEP = 'ninja -j2 qemu-system-aarch64 (about 2 min on 2 idle cores)';
const LOG = '/cache/work/source-qemu-0123456789abcdef-77/logs/build.log';
const FIRST = "../hw/xen/xen-pvh-common.c:212:5: error: 'XEN_PVH_PCI' undeclared (first use in this function)";
const failure = () =>
  new BuildFailure({ component: 'qemu', step: STEP, exitCode: 1, seconds: 95, logFile: LOG, firstError: FIRST, tail: `[41/2110] Compiling C object …\n${FIRST}\nninja: build stopped: subcommand failed.` });
const xenPassed: BuildReport = { component: 'xen', status: 'passed', cached: true, durationMs: 2 };

async function run(dir: string): Promise<{ code: number; stderr: string; junit: string; summary: string; resultJson: string }> {
  const err: string[] = [];
  const cwd = join(work, dir);
  const code = await cliMain(['run', 'boot-smoke', 'virtio-pci-grants', '--rig', 'source', '--no-cache', '--junit-path', 'out/junit.xml', '--logs-dir', 'out/logs'], {
    out: () => undefined,
    err: (t) => void err.push(t),
    cwd,
    env: { HOME: work },
  });
  const read = (p: string) => readFileSync(join(cwd, p), 'utf8');
  return { code, stderr: err.join(''), junit: read('out/junit.xml'), summary: read('out/logs/summary.md'), resultJson: read('out/logs/result.json') };
}

describe('a run whose tree under test did not build', () => {
  beforeEach(() => {
    rigStage.obtain = undefined;
  });

  it('exits 1, reports the build as a failed test case and skips every scenario saying why', async () => {
    rigStage.obtain = async (opts) => {
      opts.onBuild?.(xenPassed);
      throw failure();
    };
    const { code, stderr, junit, summary, resultJson } = await run('a');
    expect(code).toBe(1);

    validateJunit(junit);
    expect(junit).toMatch(/<testsuite name="rig build" time="95.002" tests="2" failures="1" errors="0" skipped="0">/);
    expect(junit).toContain('<testcase classname="xen-pvh-virtio.rig build" name="build xen" time="0.002">');
    expect(junit).toContain(`<failure message="${FIRST}" type="build"><![CDATA[[41/2110] Compiling C object …\n${FIRST}\nninja: build stopped: subcommand failed.]]></failure>`);
    expect(junit).toMatch(/<testsuite name="boot-smoke" [^>]*failures="0" errors="0" skipped="\d+"/);
    expect(junit).toContain('<skipped message="the rig did not build: build qemu failed"/>');
    expect(junit).not.toContain('<error');

    const result = parseResultFile(resultJson, 'result.json').result;
    expect(result.builds).toEqual([xenPassed, { component: 'qemu', status: 'failed', cached: false, durationMs: 95_000, message: FIRST, excerpt: failure().facts.tail, logFile: LOG, step: STEP }]);
    expect(result.fatal).toEqual({ status: 'failed', kind: 'Build failure', message: `rig source: qemu: ${STEP} failed (exit 1, 95 s): ${FIRST}` });
    expect(result.scenarios.map((s) => [s.name, s.status, s.skipReason])).toEqual([
      ['boot-smoke', 'skipped', 'the rig did not build: build qemu failed'],
      ['virtio-pci-grants', 'skipped', 'the rig did not build: build qemu failed'],
    ]);

    expect(summary).toContain(`❌ **build qemu failed** at \`${STEP}\`: \`${FIRST}\``);
    expect(stderr).toContain('0 passed, 0 failed, 0 errored, 2 skipped — JUnit ');
    expect(stderr).toContain(`build qemu failed at ${STEP}: ${FIRST} (log ${LOG})\n`);
    expect(stderr).toContain(`build failure: rig source: qemu: ${STEP} failed (exit 1, 95 s): ${FIRST}\n`);
  });

  it('reports the failed build once when the rig stage reported it already', async () => {
    rigStage.obtain = async (opts) => {
      const e = failure();
      opts.onBuild?.(e.report(120_000));
      throw e;
    };
    const { code, resultJson } = await run('b');
    expect(code).toBe(1);
    const builds = parseResultFile(resultJson, 'result.json').result.builds!;
    expect(builds.map((b) => [b.component, b.status, b.durationMs])).toEqual([['qemu', 'failed', 120_000]]);
  });

  it('is an infrastructure error, as before, when the build failed for another reason', async () => {
    rigStage.obtain = async () => {
      throw new Error('cannot run nice: spawn nice ENOENT');
    };
    const { code, junit, resultJson } = await run('c');
    expect(code).toBe(3);
    expect(junit).not.toContain('rig build');
    expect(parseResultFile(resultJson, 'result.json').result.builds).toBeUndefined();
  });
});
