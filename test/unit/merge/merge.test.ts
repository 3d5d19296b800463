import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { pathsFromInputs, reportFailure } from '../../../src/action/failure.js';
import { cliMain } from '../../../src/cli/main-impl.js';
import { mergeCommand } from '../../../src/cli/merge.js';
import { builtInScenarioDir, builtInScenarios, loadScenarioFile, type RawOptions } from '../../../src/config/index.js';
import { selectShard, type ShardPlan } from '../../../src/config/shard.js';
import { ConfigError } from '../../../src/errors.js';
import { readJunit, runFromJunit, writeJunitXml } from '../../../src/merge/junit.js';
import { readReport } from '../../../src/merge/inputs.js';
import { buildJunit, writeReports } from '../../../src/report/index.js';
import { timelineChart } from '../../../src/report/summary.js';
import { exitCodeFor, exitCodeForError } from '../../../src/run.js';
import { erroredScenario } from '../../../src/scenario/outcomes.js';
import { counts, type RunResult, type ScenarioResult, type Status } from '../../../src/scenario/result.js';
import { validateJunit } from '../../support/junit.js';

const scenarios = builtInScenarios().map((n) => loadScenarioFile(join(builtInScenarioDir(), `${n}.yaml`)));
const t0 = new Date('2026-03-01T10:00:00Z');

/** What a run of these scenarios reports: each one's steps with the statuses given (passed by default). */
function ranScenario(name: string, status: Status = 'passed', at = 0): ScenarioResult {
  const scenario = scenarios.find((s) => s.name === name)!;
  const steps = scenario.steps.map((s, i) => {
    const bad = status !== 'passed' && i === 1;
    return {
      title: s.title,
      kind: s.kind,
      status: bad ? status : i > 1 && status !== 'passed' ? ('skipped' as const) : ('passed' as const),
      durationMs: 1500 + i,
      where: s.where,
      ...(bad ? { message: `${status}: no "Virtio" <in> lspci & more`, forensics: `forensics/${name}` } : {}),
      excerpt: `domU1# lspci\n00:00.0 Host bridge`,
    };
  });
  return { name, file: scenario.file, status, startedAt: new Date(t0.getTime() + at * 60_000), durationMs: 20_000, steps, system: at === 0 ? 'booted' : 'restored' };
}

function runOf(results: ScenarioResult[], key: string, extra: Partial<RunResult> = {}): RunResult {
  return {
    scenarios: results,
    rig: { key, provider: 'prebuilt', versions: { xen: '4.21.0', qemu: '10.0.3' }, cacheHit: true },
    phases: [{ name: 'xen banner', atMs: 1_200 }, { name: 'dom0 shell', atMs: 18_000 }],
    timeline: [
      { section: 'rig', name: 'rig (cached)', startMs: 0, endMs: 2_000 },
      { section: 'system', name: 'boot 1', startMs: 2_000, endMs: 19_000 },
      ...results.map((r, i) => ({ section: 'scenarios', name: r.name, startMs: 20_000 + i * 21_000, endMs: 40_000 + i * 21_000 })),
    ],
    properties: { boot: 'uboot', 'rig.request': 'prebuilt' },
    ...extra,
  };
}

/** Each shard's reports, written by the run's own writer into an artifact-like folder. */
function writeShard(root: string, artifact: string, shard: ShardPlan, result: RunResult): string {
  const dir = join(root, artifact);
  writeReports({ junitPath: join(dir, 'junit.xml'), logsDir: join(dir, 'logs'), shard }, result);
  return dir;
}

const raw = (values: RawOptions['values'] = {}): RawOptions => ({ values, label: (n) => `--${n}` });

function io(cwd: string, env: NodeJS.ProcessEnv = {}) {
  const err: string[] = [];
  return { out: () => undefined, err: (t: string) => void err.push(t), cwd, env, text: () => err.join('') };
}

/** $GITHUB_OUTPUT's multi-line form read back. */
function readOutputs(file: string): Record<string, string> {
  const out: Record<string, string> = {};
  const lines = readFileSync(file, 'utf8').split('\n');
  for (let i = 0; i < lines.length; i++) {
    const m = /^([\w-]+)<<(.+)$/.exec(lines[i]!);
    if (!m) continue;
    const end = lines.indexOf(m[2]!, i + 1);
    out[m[1]!] = lines.slice(i + 1, end).join('\n');
    i = end;
  }
  return out;
}

const attr = (xml: string, tag: string, name: string) => Number(new RegExp(`<${tag}\\b[^>]*\\s${name}="(\\d+)"`).exec(xml)![1]);

describe('merge of a matrix of two refs × four shards', () => {
  const work = mkdtempSync(join(tmpdir(), 'xpv-merge-'));
  const shards = join(work, 'shards');
  const split = (i: number) => selectShard(scenarios, { index: i, count: 4 });
  const names = (i: number) => split(i).scenarios.map((s) => s.name);
  const results: RunResult[] = [];
  let code: number;
  let xml: string;
  let summary: string;
  let outputs: Record<string, string>;
  let stderr: string;

  beforeAll(() => {
    // master: shard 1 passes, shard 2 has a product failure, shard 3's rig failed (every
    // scenario errored), shard 4 never wrote a report.
    const master = [
      runOf(names(1).map((n, k) => ranScenario(n, 'passed', k)), 'prebuilt-aaaa'),
      runOf(names(2).map((n, k) => ranScenario(n, k === 0 ? 'failed' : 'passed', k)), 'prebuilt-aaaa'),
      {
        ...runOf([], 'prebuilt-aaaa'),
        rig: undefined,
        timeline: [],
        phases: [],
        scenarios: split(3).scenarios.map((s) => erroredScenario(s, 'rig prebuilt: rig-path xen-pvh-virtio-rig: manifest.json missing', undefined, t0)),
        fatal: { status: 'error' as const, message: 'rig prebuilt: rig-path xen-pvh-virtio-rig: manifest.json missing' },
      },
    ];
    master.forEach((r, i) => writeShard(shards, `xen-pvh-virtio-master-shard-${i + 1}`, split(i + 1).plan, r));
    // stable: every shard passes; shard 2 left only its JUnit (read from it, timeline and all).
    const stable = [1, 2, 3, 4].map((i) => runOf(names(i).map((n, k) => ranScenario(n, 'passed', k)), 'prebuilt-bbbb'));
    stable.forEach((r, i) => writeShard(shards, `xen-pvh-virtio-stable-shard-${i + 1}`, split(i + 1).plan, r));
    rmSync(join(shards, 'xen-pvh-virtio-stable-shard-2', 'logs', 'result.json'));
    results.push(...master, ...stable);

    const out = join(work, 'github-output');
    const step = join(work, 'step-summary');
    writeFileSync(out, 'earlier=1\n');
    const x = io(work, { GITHUB_OUTPUT: out, GITHUB_STEP_SUMMARY: step });
    code = mergeCommand(['shards'], raw({ 'junit-path': 'merged/junit.xml', 'logs-dir': 'merged' }), x);
    stderr = x.text();
    xml = readFileSync(join(work, 'merged', 'junit.xml'), 'utf8');
    summary = readFileSync(join(work, 'merged', 'summary.md'), 'utf8');
    expect(readFileSync(step, 'utf8')).toBe(summary);
    if (process.env.XPV_SHOW_SUMMARY) writeFileSync(process.env.XPV_SHOW_SUMMARY, summary);
    outputs = readOutputs(out);
  });

  it('writes one schema-valid JUnit report with every suite of every shard, and one for the missing shard', () => {
    validateJunit(xml);
    const suites = [...xml.matchAll(/<testsuite name="([^"]+)"/g)].map((m) => m[1]);
    const expected = [...results.flatMap((r) => r.scenarios.map((s) => s.name)), 'shard 4/4'];
    expect(suites.sort()).toEqual(expected.sort());
    expect(xml).toContain('<property name="shard" value="2/4"/>');
    expect(xml).toMatch(/<testsuite name="shard 4\/4"[^>]* errors="1"/);
    expect(xml).toContain('shard 4/4 left no report (expected 2, one per matrix row, found 1)');
  });

  it('counts right: the failed and the errored shards, and the missing one as an error', () => {
    const all = counts({ ...results[0]!, scenarios: results.flatMap((r) => r.scenarios) });
    expect(all.failed).toBe(1);
    expect(all.error).toBe(names(3).length);
    // Steps never started after a failure are not test cases (the step that failed names them).
    const cases = results.flatMap((r) => r.scenarios.flatMap((s) => s.steps)).filter((s) => !s.notRun);
    expect(attr(xml, 'testsuites', 'tests')).toBe(cases.length + 1);
    expect(attr(xml, 'testsuites', 'failures')).toBe(cases.filter((s) => s.status === 'failed').length);
    expect(attr(xml, 'testsuites', 'errors')).toBe(cases.filter((s) => s.status === 'error').length + 1);
    expect(attr(xml, 'testsuites', 'skipped')).toBe(cases.filter((s) => s.status === 'skipped').length);
    expect(outputs).toMatchObject({ passed: String(all.passed), failed: '1', errored: String(all.error + 1), skipped: String(all.skipped) });
  });

  it("sets a run's outputs, and exits as a run would: a failure outranks errors", () => {
    expect(code).toBe(1);
    expect(outputs).toMatchObject({
      'junit-path': join(work, 'merged', 'junit.xml'),
      'logs-dir': join(work, 'merged'),
      'rig-key': 'prebuilt-aaaa prebuilt-bbbb',
      'cache-hit': 'true',
    });
    expect(readFileSync(join(work, 'github-output'), 'utf8')).toMatch(/^earlier=1\n/);
    expect(stderr).toContain('7 shard reports, 1 missing: ');
    expect(stderr).toContain('infrastructure error: shards/xen-pvh-virtio-master-shard-3/logs/result.json: rig prebuilt');
  });

  it('writes one summary: the totals, a row per shard, and every shard with its own timeline', () => {
    expect(summary).toMatch(/^## xen-pvh-virtio · 7 shard reports merged, 1 missing\n/);
    expect(summary).toMatch(/\*\*\d+ passed, 1 failed, \d+ errored, \d+ skipped\*\* in all/);
    expect(summary).toContain('> **Infrastructure error:** shard 3/4: rig prebuilt');
    expect(summary).toContain('| 4/4 | 0 | 0 | 1 | 0 |  | 💥 none |');
    expect(summary).toContain('### Shard 2/4 · `shards/xen-pvh-virtio-stable-shard-2/junit.xml`');
    expect(summary).toContain('### Shard 2/4 · `shards/xen-pvh-virtio-master-shard-2/logs/result.json`');
    // A timeline per shard that got a rig: all 8 but master's 3/4 (its rig failed) and 4/4 (no report).
    expect(summary.match(/```mermaid/g)).toHaveLength(6);
    expect(summary).toContain('❌ failed');
  });

  it("left each shard's own reports saying which shard it was", () => {
    const dir = join(shards, 'xen-pvh-virtio-master-shard-2');
    const own = readFileSync(join(dir, 'logs', 'summary.md'), 'utf8');
    expect(own).toMatch(/^## xen-pvh-virtio · shard 2\/4\n/);
    expect(own).toContain(`This job is shard 2/4 of a matrix: it ran ${names(2).length} of the ${scenarios.length} selected scenarios`);
    const junit = readFileSync(join(dir, 'junit.xml'), 'utf8');
    validateJunit(junit);
    expect(junit).toContain('<testsuites name="xen-pvh-virtio shard 2/4"');
    expect(junit).toContain('<property name="shard" value="2/4"/>');
    expect(JSON.parse(readFileSync(join(dir, 'logs', 'result.json'), 'utf8'))).toMatchObject({ junit: '../junit.xml', result: { properties: { shard: '2/4' } } });
  });

  it('read the JUnit-only shard as the run it was: same timeline, phases and counts', () => {
    const junit = readFileSync(join(shards, 'xen-pvh-virtio-stable-shard-2', 'junit.xml'), 'utf8');
    const back = runFromJunit(readJunit(junit, 'junit.xml'));
    const original = results[4]!; // master 1-3, then stable 1-4
    expect(timelineChart(back.timeline)).toEqual(timelineChart(original.timeline));
    expect(back.phases).toEqual(original.phases);
    expect(counts(back)).toEqual(counts(original));
    expect(back.rig).toEqual(original.rig);
    expect(back.properties).toMatchObject({ shard: '2/4', 'shard.selected': String(scenarios.length), boot: 'uboot' });
  });

  it('counts a run once whichever of its files it is given, and never reads its own output back', () => {
    const again = io(work);
    const dir = 'shards/xen-pvh-virtio-master-shard-1';
    const code2 = mergeCommand(['shards', `${dir}/junit.xml`, `${dir}/logs/result.json`], raw({ 'junit-path': 'shards/merged.xml', 'logs-dir': 'merged2' }), again);
    expect(code2).toBe(1);
    const xml2 = readFileSync(join(work, 'shards', 'merged.xml'), 'utf8');
    expect(attr(xml2, 'testsuites', 'tests')).toBe(attr(xml, 'testsuites', 'tests'));
    // A shard's JUnit uploaded apart from its logs (another artifact): still the same run.
    mkdirSync(join(work, 'apart'));
    writeFileSync(join(work, 'apart', 'junit.xml'), readFileSync(join(work, dir, 'junit.xml')));
    const apart = io(work);
    expect(mergeCommand(['shards', 'apart'], raw({ 'junit-path': 'merged3/junit.xml', 'logs-dir': 'merged3' }), apart)).toBe(1);
    expect(apart.text()).toContain('apart/junit.xml: the same run as a result.json already read');
    expect(apart.text()).toContain('shards/merged.xml: a merged report, passed over');
    expect(attr(readFileSync(join(work, 'merged3', 'junit.xml'), 'utf8'), 'testsuites', 'tests')).toBe(attr(xml, 'testsuites', 'tests'));
    // The merged report now lies among the inputs: merging again reads the same shards.
    const third = mergeCommand(['shards'], raw({ 'junit-path': 'shards/merged.xml', 'logs-dir': 'merged2' }), io(work));
    expect(third).toBe(1);
    expect(attr(readFileSync(join(work, 'shards', 'merged.xml'), 'utf8'), 'testsuites', 'tests')).toBe(attr(xml, 'testsuites', 'tests'));
  });
});

describe('merge exit codes follow a run', () => {
  const one = (status: Status, fatal?: RunResult['fatal']) => runOf([ranScenario('boot-smoke', status)], 'k', fatal ? { fatal } : {});
  const plan = (i: number, n: number) => ({ ...selectShard(scenarios, { index: i, count: n }).plan });

  it.each([
    ['every shard passed', ['passed', 'passed'], 0],
    ['a shard errored', ['passed', 'error'], 3],
    ['a shard failed and one errored', ['failed', 'error'], 1],
  ] as const)('%s', (_, statuses, expected) => {
    const work = mkdtempSync(join(tmpdir(), 'xpv-merge-code-'));
    const runs = statuses.map((s) => one(s));
    runs.forEach((r, i) => writeShard(work, `s${i + 1}`, plan(i + 1, 2), r));
    expect(mergeCommand([work], raw({ 'junit-path': join(work, 'out/junit.xml'), 'logs-dir': join(work, 'out') }), io(work))).toBe(expected);
    expect(exitCodeFor({ ...runs[0]!, scenarios: runs.flatMap((r) => r.scenarios) })).toBe(expected);
  });

  it('a missing shard is an infrastructure error (3), and no report at all is too', () => {
    const work = mkdtempSync(join(tmpdir(), 'xpv-merge-code-'));
    writeShard(work, 's1', plan(1, 3), one('passed'));
    writeShard(work, 's3', plan(3, 3), one('passed'));
    const x = io(work);
    expect(mergeCommand(['.'], raw({ 'junit-path': 'out/junit.xml', 'logs-dir': 'out' }), x)).toBe(3);
    const xml = readFileSync(join(work, 'out/junit.xml'), 'utf8');
    validateJunit(xml);
    expect(xml).toContain('shard 2/3 left no report (expected one, found none)');

    const empty = mkdtempSync(join(tmpdir(), 'xpv-merge-empty-'));
    mkdirSync(join(empty, 'shards'));
    expect(mergeCommand(['shards'], raw({ 'junit-path': 'out/junit.xml', 'logs-dir': 'out' }), io(empty))).toBe(3);
    const none = readFileSync(join(empty, 'out/junit.xml'), 'utf8');
    validateJunit(none);
    expect(none).toContain('no shard report (result.json or JUnit .xml) in shards');
  });

  it('a shard that failed before it ran (a bad input, a crash) counts as that shard, not as a missing one', async () => {
    const work = mkdtempSync(join(tmpdir(), 'xpv-merge-code-'));
    writeShard(work, 's1', plan(1, 2), one('passed'));
    const paths = pathsFromInputs(raw({ shard: '2/2', 'junit-path': 's2/junit.xml', 'logs-dir': 's2/logs' }), work);
    const exitCode = process.exitCode;
    // The workflow commands it prints (outputs, the annotation) are the action's, not this test's.
    const quiet = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    try {
      await reportFailure(new ConfigError('input `boot`: expected one of uboot, direct, got "pxe"'), paths);
    } finally {
      quiet.mockRestore();
      process.exitCode = exitCode; // reportFailure fails the action's step, not this test
    }
    const x = io(work);
    expect(mergeCommand([work], raw({ 'junit-path': join(work, 'out/junit.xml'), 'logs-dir': join(work, 'out') }), x)).toBe(3);
    expect(x.text()).toContain('2 shard reports: ');
    expect(readFileSync(join(work, 'out/summary.md'), 'utf8')).toContain('> **Configuration error:** shard 2/2: input \\`boot\\`: expected one of uboot, direct');
  });

  it('an empty shard (more shards than scenarios) is present, not missing', () => {
    const work = mkdtempSync(join(tmpdir(), 'xpv-merge-code-'));
    writeShard(work, 's1', plan(1, 2), one('passed'));
    writeShard(work, 's2', plan(2, 2), runOf([], 'k'));
    rmSync(join(work, 's2', 'logs', 'result.json'));
    // Its JUnit alone has no suite: its root's name says which shard it was.
    expect(readFileSync(join(work, 's2', 'junit.xml'), 'utf8')).toContain('name="xen-pvh-virtio shard 2/2"');
    expect(mergeCommand([work], raw({ 'junit-path': join(work, 'out/junit.xml'), 'logs-dir': join(work, 'out') }), io(work))).toBe(0);
  });
});

describe('merge with untrusted inputs', () => {
  function shardsWith(files: Record<string, string | Buffer>): string {
    const work = mkdtempSync(join(tmpdir(), 'xpv-merge-bad-'));
    writeShard(join(work, 'shards'), 'good', selectShard(scenarios, { index: 1, count: 1 }).plan, runOf([ranScenario('boot-smoke')], 'k'));
    for (const [name, content] of Object.entries(files)) {
      mkdirSync(join(work, name, '..'), { recursive: true });
      writeFileSync(join(work, name), content);
    }
    return work;
  }
  async function usage(work: string, inputs = ['shards']): Promise<string> {
    const x = io(work);
    const code = await cliMain(['merge', ...inputs, '--junit-path', 'out/junit.xml', '--logs-dir', 'out'], x);
    expect(code, x.text()).toBe(2);
    return x.text();
  }
  const good = buildJunit(runOf([ranScenario('virtio-blk', 'failed')], 'k', { properties: { shard: '2/2' } }));

  it.each([
    ['truncated JUnit', good.slice(0, good.length / 2), /shards\/bad\/junit\.xml: not well-formed XML: line \d+: unterminated value of attribute message/],
    ['an element outside the dialect', good.replace('<properties>', '<weird/><properties>'), /shards\/bad\/junit\.xml: line \d+: not a JUnit report in the dialect this harness writes: <weird> inside <testsuite>/],
    ['a bad time', good.replace(/time="[\d.]+"/, 'time="soon"'), /shards\/bad\/junit\.xml: line \d+: .*time="soon" is not a number of seconds/],
    ['an entity bomb', `<?xml version="1.0"?><!DOCTYPE t [<!ENTITY a "aaaaaaaa"><!ENTITY b "&a;&a;&a;&a;">]><testsuites>&b;</testsuites>`, /shards\/bad\/junit\.xml: not well-formed XML: line 1: a DOCTYPE is not accepted in a report/],
    ['an undefined entity', good.replace('</testsuites>', '&xxe;</testsuites>'), /shards\/bad\/junit\.xml: not well-formed XML: line \d+: unknown entity &xxe;/],
    ['a control character by reference', good.replace('name="virtio-blk"', 'name="virtio&#1;blk"'), /character reference &#1; is not an XML character/],
  ])('%s in a JUnit file: exit 2 naming the file and line', async (_, text, message) => {
    expect(await usage(shardsWith({ 'shards/bad/junit.xml': text }))).toMatch(message);
  });

  it.each([
    ['not JSON', '{"format": ', /shards\/bad\/logs\/result\.json: not valid JSON/],
    ['another format', '{"format":"x","version":1,"result":{}}', /shards\/bad\/logs\/result\.json: not a run result this harness wrote: format: /],
    ['a bad status', JSON.stringify({ format: 'xen-pvh-virtio-run-result', version: 1, result: { ...runOf([{ ...ranScenario('boot-smoke'), status: 'great' as Status }], 'k') } }), /result\.json: not a run result this harness wrote: result\.scenarios\.0\.status: /],
    ['markup as a failure kind', JSON.stringify({ format: 'xen-pvh-virtio-run-result', version: 1, result: runOf([], 'k', { fatal: { status: 'error', message: 'x', kind: '<img src=x>' } }) }), /result\.json: not a run result this harness wrote: result\.fatal\.kind: /],
  ])('%s in a result.json: exit 2 naming the file and field', async (_, text, message) => {
    expect(await usage(shardsWith({ 'shards/bad/logs/result.json': text }))).toMatch(message);
  });

  it('refuses a file that is not UTF-8, and one past 32 MiB without reading it', async () => {
    expect(await usage(shardsWith({ 'shards/bad/junit.xml': Buffer.from([0x3c, 0x74, 0xff, 0xfe, 0x3e]) }))).toContain('shards/bad/junit.xml: not UTF-8 text');
    const work = shardsWith({ 'shards/big/junit.xml': '' });
    truncateSync(join(work, 'shards/big/junit.xml'), 33 * 1024 * 1024);
    expect(await usage(work)).toContain(`shards/big/junit.xml: ${33 * 1024 * 1024} bytes, more than a report may have (${32 * 1024 * 1024})`);
    expect(() => readReport({ path: join(work, 'shards/good/junit.xml'), shownAs: 'good.xml', walked: true }, 100)).toThrow(/good\.xml: \d+ bytes, more than a report may have \(100\)/);
  });

  it('names a path that does not exist, a file of another kind, and flags merge does not take', async () => {
    const work = shardsWith({ 'notes.txt': 'hello' });
    expect(await usage(work, ['nowhere'])).toContain('merge: nowhere: no such file or folder');
    expect(await usage(work, ['notes.txt'])).toContain('merge: notes.txt: expected a folder, a JUnit .xml file or a result.json');
    expect(() => mergeCommand(['shards'], raw({ rig: 'debian', shard: '1/2' }), io(work))).toThrow('merge takes --junit-path and --logs-dir (where the merged report goes), not --shard, --rig');
    try {
      mergeCommand(['nowhere'], raw(), io(work));
    } catch (e) {
      expect(e).toBeInstanceOf(ConfigError);
      expect(exitCodeForError(e)).toBe(2);
    }
  });

  it('reads nothing through a symbolic link inside a folder it was given', () => {
    const work = shardsWith({});
    const outside = mkdtempSync(join(tmpdir(), 'xpv-merge-outside-'));
    writeFileSync(join(outside, 'junit.xml'), good);
    mkdirSync(join(outside, 'logs'));
    symlinkSync(outside, join(work, 'shards', 'linked-folder'));
    symlinkSync(join(outside, 'junit.xml'), join(work, 'shards', 'linked.xml'));
    const x = io(work);
    // The outside report holds a failure: had it been read, the merge would exit 1.
    expect(mergeCommand(['shards'], raw({ 'junit-path': 'out/junit.xml', 'logs-dir': 'out' }), x)).toBe(0);
    expect(readFileSync(join(work, 'out/junit.xml'), 'utf8')).not.toContain('virtio-blk');
  });

  it('passes over an .xml in a folder that is no JUnit report, but not one it was named', async () => {
    const work = shardsWith({ 'shards/good/repro/domU1.xml': '<domain type="xen"/>' });
    const x = io(work);
    expect(mergeCommand(['shards'], raw({ 'junit-path': 'out/junit.xml', 'logs-dir': 'out' }), x)).toBe(0);
    expect(x.text()).toContain('shards/good/repro/domU1.xml: not a JUnit report, passed over');
    expect(await usage(work, ['shards/good/repro/domU1.xml'])).toContain("the root is <domain>, not <testsuites>");
  });
});

describe('JUnit read back', () => {
  it('writes out what it read unchanged, whatever text the reports carry', () => {
    const hostile = 'a <b> & "c" \'d\' ]]> \t tab\nnew line \u00e9 \u{1f600}';
    const result = runOf([{ ...ranScenario('boot-smoke', 'failed'), name: hostile }], hostile, { properties: { [hostile]: hostile } });
    const first = readJunit(buildJunit(result), 'a.xml');
    const written = writeJunitXml('merged', first.suites);
    validateJunit(written);
    expect(readJunit(written, 'b.xml').suites).toEqual(first.suites);
    expect(first.suites[0]!.name).toBe(hostile);
  });
});
