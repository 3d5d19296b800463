// The builds of the trees under test in every report: a "rig build" suite in JUnit with a
// test case per build, the failed build first in the summary with its first error, the
// builds in result.json (other tools read `builds` there), kept by `merge`, and exit 1.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mergeCommand } from '../../../src/cli/merge.js';
import { builtInScenarioDir, builtInScenarios, loadScenarioFile, type RawOptions } from '../../../src/config/index.js';
import { selectShard } from '../../../src/config/shard.js';
import { readJunit, runFromJunit } from '../../../src/merge/junit.js';
import { buildJunit, buildSummary, parseResultFile, writeReports, writeResultFile } from '../../../src/report/index.js';
import { exitCodeFor } from '../../../src/run.js';
import { skippedScenario } from '../../../src/scenario/outcomes.js';
import type { BuildResult, RunResult } from '../../../src/scenario/result.js';
import { configErrorOf } from '../../support/config-error.js';
import { validateJunit } from '../../support/junit.js';

const work = mkdtempSync(join(tmpdir(), 'xpv-builds-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const scenarios = builtInScenarios().map((n) => loadScenarioFile(join(builtInScenarioDir(), `${n}.yaml`)));
const t0 = new Date('2026-03-01T10:00:00Z');

const FIRST_ERROR = "arch/arm/setup.c:412:5: error: implicit declaration of function 'setup_virtio_pci' [-Werror=implicit-function-declaration]";
const TAIL = [FIRST_ERROR, '  412 |     setup_virtio_pci();', '      |     ^~~~~~~~~~~~~~~~', 'make[3]: *** [Rules.mk:250: arch/arm/setup.o] Error 1', 'make: *** [Makefile:181: __sub-make] Error 2'].join('\n');
const LOG = '/home/runner/.cache/xen-pvh-virtio/work/source-xen-0123456789abcdef-4242/logs/build.log';
const STEP = 'make -j2 (about 15 s on 2 idle cores)';

const failedXen: BuildResult = { component: 'xen', status: 'failed', cached: false, durationMs: 41_000, message: FIRST_ERROR, excerpt: TAIL, logFile: LOG, step: STEP };

/** What run.ts leaves when the Xen tree did not build: the build failed, every scenario skipped. */
function buildFailedRun(selected = scenarios): RunResult {
  return {
    scenarios: selected.map((s) => skippedScenario(s, 'the rig did not build: build xen failed', t0)),
    builds: [failedXen],
    phases: [],
    timeline: [{ section: 'rig', name: 'rig (build failed)', startMs: 0, endMs: 41_500 }],
    properties: { boot: 'uboot', 'rig.request': 'source' },
    fatal: { status: 'failed', kind: 'Build failure', message: `rig source: xen: ${STEP} failed (exit 2, 41 s): ${FIRST_ERROR}` },
  };
}

/** A run whose trees built (Xen from the cache, QEMU now) and whose scenario passed. */
function builtRun(selected = scenarios.slice(0, 1)): RunResult {
  return {
    scenarios: selected.map((s) => ({
      name: s.name,
      file: s.file,
      status: 'passed' as const,
      startedAt: t0,
      durationMs: 20_000,
      steps: s.steps.map((st) => ({ title: st.title, kind: st.kind, status: 'passed' as const, durationMs: 1_000, where: st.where })),
    })),
    builds: [
      { component: 'xen', status: 'passed', cached: true, durationMs: 3 },
      { component: 'qemu', status: 'passed', cached: false, durationMs: 95_000 },
    ],
    rig: { key: 'source-cccc', provider: 'source', versions: { xen: '4.21-unstable' }, cacheHit: false },
    phases: [{ name: 'rig ready', atMs: 96_000 }],
    timeline: [{ section: 'rig', name: 'rig (built)', startMs: 0, endMs: 96_000 }],
    properties: { boot: 'uboot', 'rig.request': 'source' },
  };
}

describe('the builds in JUnit', () => {
  it('are a "rig build" suite first, a failed build a <failure> with the first error and the log tail, the scenarios skipped saying why', () => {
    const xml = buildJunit(buildFailedRun());
    validateJunit(xml);
    expect([...xml.matchAll(/<testsuite name="([^"]+)"/g)].map((m) => m[1])[0]).toBe('rig build');
    expect(xml).toMatch(/<testsuite name="rig build" time="41" tests="1" failures="1" errors="0" skipped="0">/);
    expect(xml).toContain('<property name="rig.builds" value="1"/>');
    expect(xml).toContain('<testcase classname="xen-pvh-virtio.rig build" name="build xen" time="41">');
    expect(xml).toContain(`<failure message="arch/arm/setup.c:412:5: error: implicit declaration of function 'setup_virtio_pci' [-Werror=implicit-function-declaration]" type="build"><![CDATA[${TAIL}]]></failure>`);
    expect(xml).toContain(`<system-out><![CDATA[step: ${STEP}\nlog: ${LOG}]]></system-out>`);
    expect(xml).toContain('<skipped message="the rig did not build: build xen failed"/>');
    const report = readJunit(xml, 'junit.xml');
    const scenarioCases = report.suites.slice(1).flatMap((s) => s.cases);
    expect(scenarioCases.length).toBeGreaterThan(0);
    expect(scenarioCases.every((c) => c.outcome?.element === 'skipped')).toBe(true);
  });

  it('say a build that passed, and whether it came from the cache', () => {
    const xml = buildJunit(builtRun());
    validateJunit(xml);
    expect(xml).toMatch(/<testsuite name="rig build" time="95.003" tests="2" failures="0" errors="0" skipped="0">/);
    expect(xml).toContain('<testcase classname="xen-pvh-virtio.rig build" name="build xen" time="0.003">\n      <system-out><![CDATA[cache hit: built by an earlier run]]></system-out>');
    expect(xml).toContain('<testcase classname="xen-pvh-virtio.rig build" name="build qemu" time="95">\n      <system-out><![CDATA[built in 95.0 s]]></system-out>');
    // The run's properties are on the build suite too: a reader of the first suite has them all.
    expect(xml.split('<testsuite ')[1]).toContain('<property name="rig.key" value="source-cccc"/>');
  });

  it('are read back from JUnit as builds, not as a scenario', () => {
    for (const run of [buildFailedRun(), builtRun()]) {
      const back = runFromJunit(readJunit(buildJunit(run), 'junit.xml'));
      expect(back.builds).toEqual(run.builds);
      expect(back.scenarios.map((s) => s.name)).toEqual(run.scenarios.map((s) => s.name));
      expect(back.properties).toEqual(run.properties);
      expect(back.rig).toEqual(run.rig);
    }
  });

  it('are absent when the rig built no tree under test', () => {
    expect(buildJunit({ ...builtRun(), builds: undefined })).not.toContain('rig build');
  });
});

describe('the builds in the summary', () => {
  it('show a failed build first, with the step, its first error and its log, then a row per build', () => {
    const md = buildSummary(buildFailedRun(), { junitPath: '/w/junit.xml', logsDir: '/w/logs' });
    const lines = md.split('\n');
    expect(lines[2]).toBe(`**0 passed, 0 failed, 0 errored, ${scenarios.length} skipped**`);
    expect(lines[4]).toBe(`> **Build failure:** rig source: xen: make -j2 (about 15 s on 2 idle cores) failed (exit 2, 41 s): arch/arm/setup.c:412:5: error: implicit declaration of function 'setup\\_virtio\\_pci' \\[-Werror=implicit-function-declaration\\]`);
    expect(lines[6]).toBe(`❌ **build xen failed** at \`${STEP}\`: \`${FIRST_ERROR}\``);
    expect(lines[8]).toBe(`Full log: \`${LOG}\`; its last lines are in the JUnit report.`);
    expect(md).toContain('| Build | Status | Duration | Detail |');
    expect(md).toContain("| build xen | ❌ failed | 41.0s | arch/arm/setup.c:412:5: error: implicit declaration of function 'setup\\_virtio\\_pci' \\[-Werror=implicit-function-declaration\\] |");
    expect(md).toContain('| the rig did not build: build xen failed |');
  });

  it('show builds that passed in their table', () => {
    const md = buildSummary(builtRun(), { junitPath: '/w/junit.xml', logsDir: '/w/logs' });
    expect(md).not.toContain('failed**');
    expect(md).toContain('| build xen | ✅ passed | – | from the cache |');
    expect(md).toContain('| build qemu | ✅ passed | 1m35s | built |');
  });

  it("keep a compiler's text inside code spans, whatever it holds", () => {
    const hostile = { ...failedXen, message: 'x.c:1:1: error: `a` <img src=x> [l](https://evil.example/)', step: 'make `x`' };
    const md = buildSummary({ ...buildFailedRun(), builds: [hostile] }, { junitPath: '/w/junit.xml', logsDir: '/w/logs' });
    expect(md).toContain('❌ **build xen failed** at `` make `x` ``: ``x.c:1:1: error: `a` <img src=x> [l](https://evil.example/)``');
    expect(md).toContain('| x.c:1:1: error: \\`a\\` \\<img src=x\\> \\[l\\](https\\://evil.example/) |');
  });
});

describe('the builds in result.json', () => {
  it('round-trip as the exact shape other tools read', () => {
    const dir = join(work, 'result');
    const file = writeResultFile(dir, buildFailedRun(), join(dir, 'junit.xml'));
    const json = JSON.parse(readFileSync(file, 'utf8'));
    expect(json.result.builds).toEqual([failedXen]);
    expect(json.result.builds.some((b: BuildResult) => b.status === 'failed')).toBe(true);
    const back = parseResultFile(readFileSync(file, 'utf8'), 'result.json').result;
    expect(back.builds).toEqual([failedXen]);
    expect(back.fatal).toEqual(buildFailedRun().fatal);
  });

  it('are checked like every other field', () => {
    const text = (builds: unknown) => JSON.stringify({ format: 'xen-pvh-virtio-run-result', version: 1, result: { ...builtRun(), builds } });
    expect(configErrorOf(() => parseResultFile(text([{ ...failedXen, status: 'exploded' }]), 'r.json'))).toMatch(/^r\.json: not a run result this harness wrote: result\.builds\.0\.status: /);
    expect(configErrorOf(() => parseResultFile(text([{ ...failedXen, durationMs: -1 }]), 'r.json'))).toMatch(/result\.builds\.0\.durationMs/);
    expect(configErrorOf(() => parseResultFile(text(Array(10_001).fill(failedXen)), 'r.json'))).toMatch(/result\.builds: /);
    // A result from before builds were reported has none.
    expect(parseResultFile(text(undefined), 'r.json').result.builds).toBeUndefined();
  });
});

describe('the builds decide the exit code', () => {
  it('exits 1 when a tree under test did not build, though every scenario was only skipped', () => {
    expect(exitCodeFor(buildFailedRun())).toBe(1);
    expect(exitCodeFor(builtRun())).toBe(0);
  });
});

describe("merge keeps every shard's builds", () => {
  const raw = (values: RawOptions['values'] = {}): RawOptions => ({ values, label: (n) => `--${n}` });
  const err: string[] = [];
  let code: number;
  let xml: string;
  let summary: string;

  beforeAll(() => {
    // Shard 1's Xen did not build (its result.json is read); shard 2 built (only its JUnit is left).
    const split = (i: number) => selectShard(scenarios, { index: i, count: 2 });
    const write = (i: number, result: RunResult) => {
      const dir = join(work, 'shards', `shard-${i}`);
      writeReports({ junitPath: join(dir, 'junit.xml'), logsDir: join(dir, 'logs'), shard: split(i).plan }, result);
      return dir;
    };
    write(1, buildFailedRun(split(1).scenarios));
    rmSync(join(write(2, builtRun(split(2).scenarios)), 'logs', 'result.json'));
    code = mergeCommand(['shards'], raw({ 'junit-path': 'merged/junit.xml', 'logs-dir': 'merged' }), { out: () => undefined, err: (t) => void err.push(t), cwd: work, env: {} });
    xml = readFileSync(join(work, 'merged', 'junit.xml'), 'utf8');
    summary = readFileSync(join(work, 'merged', 'summary.md'), 'utf8');
  });

  it("writes each shard's build suite into the merged JUnit, which validates", () => {
    validateJunit(xml);
    expect(xml.match(/<testsuite name="rig build"/g)).toHaveLength(2);
    expect(xml).toMatch(/<testsuites name="xen-pvh-virtio merged from 2 reports" tests="\d+" failures="1" /);
    expect(xml).toContain('<failure message="arch/arm/setup.c:412:5: error: implicit declaration');
  });

  it('fails the merged run and shows the failed build in its summary', () => {
    expect(code).toBe(1);
    expect(summary).toContain('> **Build failure:** shard 1/2: rig source: xen: make -j2');
    expect(summary).toContain(`❌ **build xen failed** at \`${STEP}\``);
    expect(summary).toContain('| build qemu | ✅ passed | 1m35s | built |');
    expect(err.join('')).toContain('failure: shards/shard-1/logs/result.json: rig source: xen: make -j2');
  });
});
