// The bisection on real git repositories, with a step runner that reads the verdict from a
// file in the checked-out commit: the culprit for series of several lengths, skipped commits,
// and bad input refused before any commit between the ends is tested.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { bisect, type BisectInput, type StepRunner } from '../../../src/bisect/index.js';
import { ConfigError } from '../../../src/errors.js';
import { expectCleanWorkspace, fileRunner, git, series, verdicts, type Call, type Series } from './series.js';

function input(s: Series, over: Partial<BisectInput> = {}): BisectInput {
  const logsDir = mkdtempSync(join(tmpdir(), 'xpv-bisect-logs-'));
  return {
    component: 'xen',
    repo: s.dir,
    good: s.ids[0]!,
    bad: 'main',
    labels: { repo: '--repo', good: '--good', bad: '--bad' },
    scenarios: 'virtio-pci-rescan-ping',
    cacheDir: mkdtempSync(join(tmpdir(), 'xpv-bisect-cache-')),
    cwd: process.cwd(),
    logsDir,
    ...over,
  };
}

async function run(s: Series, over: Partial<BisectInput> = {}) {
  const calls: Call[] = [];
  const lines: string[] = [];
  const i = input(s, over);
  const result = await bisect(i, { runStep: fileRunner(calls), log: (l) => lines.push(l) });
  return { result, calls, lines, input: i };
}

async function configErrorOf(p: Promise<unknown>): Promise<string> {
  const e = await p.then(
    () => undefined,
    (x: unknown) => x,
  );
  expect(e).toBeInstanceOf(ConfigError);
  return (e as Error).message;
}

describe('bisect names the first bad commit', () => {
  const cases: [n: number, firstBad: number][] = [
    [1, 1],
    [2, 1],
    [2, 2],
    [7, 1],
    [7, 4],
    [7, 7],
    [20, 1],
    [20, 13],
    [20, 20],
  ];
  it.each(cases)('in a series of %i with the first bad at %i', async (n, firstBad) => {
    const s = series(n, verdicts(firstBad));
    const { result, calls, input: i } = await run(s);
    expect(result.verdict).toEqual({
      kind: 'culprit',
      culprit: { id: s.ids[firstBad], subject: `change ${firstBad}`, author: 'xen-pvh-virtio test <test@xen-pvh-virtio.invalid>', date: '2000-01-01T00:00:00+00:00' },
    });
    // The ends first, bad then good, then about log2(n) commits between them; each step had its commit checked out.
    expect(calls[0]!.commit).toBe(s.ids[n]);
    expect(calls[1]!.commit).toBe(s.ids[0]);
    for (const c of calls) expect(c.head).toBe(c.commit);
    expect(calls.length).toBeLessThanOrEqual(2 + Math.ceil(Math.log2(n)) + 1);
    // No commit is tested twice.
    expect(new Set(calls.map((c) => c.commit)).size).toBe(calls.length);
    expect(result.commits).toBe(n);
    expect(result.steps.map((x) => x.role).slice(0, 2)).toEqual(['bad end', 'good end']);
    expect(result.steps.map((x) => x.n)).toEqual(calls.map((c) => c.n));
    expect(result.steps[0]!.reason).toContain('100% packet loss');
    expectCleanWorkspace(i.cacheDir);
  });

  it('from a file:// URL as from a folder, and a second bisection reuses the clone and fetches what is new', async () => {
    const s = series(5, verdicts(3));
    const first = await run(s, { repo: `file://${s.dir}` });
    expect(first.result.verdict).toMatchObject({ kind: 'culprit', culprit: { id: s.ids[3] } });
    expect(first.lines.join('\n')).toContain('cloning file://');
    // Two more commits on main: --bad main names the new tip after a fetch.
    git(s.dir, 'commit', '-q', '--allow-empty', '-m', 'change 6');
    const tip = git(s.dir, 'rev-parse', 'HEAD');
    const second = await run(s, { repo: `file://${s.dir}`, cacheDir: first.input.cacheDir });
    expect(second.lines.join('\n')).not.toContain('cloning');
    expect(second.calls[0]!.commit).toBe(tip);
    expect(second.result.verdict).toMatchObject({ kind: 'culprit', culprit: { id: s.ids[3] } });
  });

  it("reads a local checkout's own names (HEAD, HEAD~7) in the checkout", async () => {
    const s = series(7, verdicts(2));
    const { result, calls } = await run(s, { good: 'HEAD~7', bad: 'HEAD' });
    expect(calls[0]!.commit).toBe(s.ids[7]);
    expect(result.verdict).toMatchObject({ kind: 'culprit', culprit: { id: s.ids[2] } });
  });
});

describe('skipped commits', () => {
  it('a skip next to the culprit leaves it inconclusive, naming the candidates', async () => {
    const s = series(7, verdicts(4, [3]));
    const { result, input: i } = await run(s);
    expect(result.verdict.kind).toBe('inconclusive');
    const ids = result.verdict.kind === 'inconclusive' ? result.verdict.candidates.map((c) => c.id) : [];
    expect(new Set(ids)).toEqual(new Set([s.ids[3], s.ids[4]]));
    expect(result.steps.filter((x) => x.verdict === 'skip').map((x) => x.reason)).toEqual(['build failure: xen: make exited with 2']);
    expectCleanWorkspace(i.cacheDir);
  });

  it('a skip away from the culprit is stepped around', async () => {
    const s = series(20, verdicts(13, [10]));
    const { result } = await run(s);
    expect(result.verdict).toMatchObject({ kind: 'culprit', culprit: { id: s.ids[13] } });
  });

  it('a bad end that cannot be tested is a verdict after one step', async () => {
    const s = series(7, verdicts(4, [7]));
    const { result, calls } = await run(s);
    expect(result.verdict).toEqual({ kind: 'untestable', end: 'bad', reason: 'build failure: xen: make exited with 2' });
    expect(calls).toHaveLength(1);
  });
});

describe('before hours are spent', () => {
  const s = series(7, verdicts(4));

  it('a ref that does not exist is a ConfigError naming --good or --bad, before any step', async () => {
    const calls: Call[] = [];
    const i = input(s);
    const message = await configErrorOf(bisect({ ...i, good: 'no-such-branch' }, { runStep: fileRunner(calls), log: () => {} }));
    expect(message).toMatch(/^--good no-such-branch: no such branch, tag or commit in /);
    expect(await configErrorOf(bisect({ ...i, bad: 'v9.9' }, { runStep: fileRunner(calls), log: () => {} }))).toMatch(/^--bad v9\.9: no such/);
    expect(await configErrorOf(bisect({ ...i, bad: '0123456789abcdef0123456789abcdef01234567' }, { runStep: fileRunner(calls), log: () => {} }))).toMatch(/^--bad 0123456789ab/);
    expect(await configErrorOf(bisect({ ...i, repo: join(s.dir, 'nope'), good: 'x' }, { runStep: fileRunner(calls), log: () => {} }))).toMatch(/^--repo .*nope: cannot clone it/);
    expect(calls).toEqual([]);
  });

  it('good == bad, good not an ancestor of bad, or the two swapped: a ConfigError naming both', async () => {
    const calls: Call[] = [];
    const same = await configErrorOf(bisect(input(s, { good: s.ids[7]!, bad: 'main' }), { runStep: fileRunner(calls), log: () => {} }));
    expect(same).toMatch(/^--good \w+ and --bad main are the same commit/);
    const swapped = await configErrorOf(bisect(input(s, { good: 'main', bad: s.ids[2]! }), { runStep: fileRunner(calls), log: () => {} }));
    expect(swapped).toMatch(/^--good main \(\w+\) is not an ancestor of --bad \w+ \(\w+\): it is the other way round; are --good and --bad swapped\?/);
    // A commit on a side line: neither comes before the other.
    const side = series(2, () => 'good');
    git(side.dir, 'checkout', '-q', '-b', 'side', side.ids[0]!);
    git(side.dir, 'commit', '-q', '--allow-empty', '-m', 'side');
    const apart = await configErrorOf(bisect(input(side, { good: 'side', bad: 'main' }), { runStep: fileRunner(calls), log: () => {} }));
    expect(apart).toMatch(/^--good side \(\w+\) is not an ancestor of --bad main \(\w+\): they are on different lines of history/);
    expect(calls).toEqual([]);
  });

  it('scenarios that pass on bad: a verdict after the one step at bad', async () => {
    const good = series(7, () => 'good');
    const { result, calls, input: i } = await run(good);
    expect(result.verdict).toEqual({ kind: 'passes-on-bad' });
    expect(calls.map((c) => c.commit)).toEqual([good.ids[7]]);
    expectCleanWorkspace(i.cacheDir);
  });

  it('scenarios that fail on good too: a verdict after the two ends', async () => {
    const bad = series(7, () => 'bad');
    const { result, calls } = await run(bad);
    expect(result.verdict).toEqual({ kind: 'fails-on-good' });
    expect(calls.map((c) => c.commit)).toEqual([bad.ids[7], bad.ids[0]]);
  });

  it("a step's bad input stops the bisection there, with the steps so far", async () => {
    const runStep: StepRunner = async (step) => {
      if (step.n === 3) throw new ConfigError('the run refused its input (exit 2), and every step would: --xen-patches: no file x.patch');
      return { verdict: step.n === 1 ? 'bad' : 'good' };
    };
    const i = input(s);
    const result = await bisect(i, { runStep, log: () => {} });
    expect(result.verdict).toEqual({ kind: 'stopped', cause: 'input', reason: 'the run refused its input (exit 2), and every step would: --xen-patches: no file x.patch' });
    expect(result.steps).toHaveLength(2);
    expectCleanWorkspace(i.cacheDir);
  });
});
