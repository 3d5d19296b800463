// The bisection: bad input is refused before anything is built (refs that do not exist, good
// not an ancestor of bad), then the bad end is tested (passing there ends it: nothing to
// bisect), then the good end (failing there ends it too), and only then git bisect picks the
// commits between them. How a commit is tested is the injected step runner's business (the CLI
// runs `xen-pvh-virtio run` as a child; tests decide by a file in the checkout).
import { join } from 'node:path';
import { ConfigError } from '../errors.js';
import { formatDuration } from '../config/units.js';
import { short, type BisectResult, type CommitInfo, type Component, type StepRecord, type StepVerdict, type Verdict } from './result.js';
import { checkoutCommit, markCommit, resetBisect, startBisect } from './session.js';
import { Workspace } from './workspace.js';

export interface StepRequest {
  /** 1-based, in the order the steps run. */
  n: number;
  commit: string;
  /** Where that commit is checked out, clean. */
  worktree: string;
  /** The step's own folder for its logs and reports (`<logs-dir>/step-<n>`). */
  dir: string;
  /** Aborted when the bisection is stopped (SIGINT/SIGTERM): the step ends its run at once. */
  signal: AbortSignal;
}

export interface StepOutcome {
  verdict: StepVerdict;
  /** Why it was skipped, or the failure that made it bad. */
  reason?: string;
  /** The step's log, absolute. */
  log?: string;
}

/** Tests one commit. Throws a ConfigError when the step's input is bad (then every step's is). */
export type StepRunner = (step: StepRequest) => Promise<StepOutcome>;

export interface BisectInput {
  component: Component;
  /** A URL, or a local checkout's folder. */
  repo: string;
  good: string;
  bad: string;
  /** How the user named each input, for errors: "--good", "--repo" or "--xen-repo". */
  labels: { repo: string; good: string; bad: string };
  /** The scenarios each step runs, as given (for the reports). */
  scenarios: string;
  cacheDir: string;
  cwd: string;
  logsDir: string;
}

export interface BisectDeps {
  runStep: StepRunner;
  log: (line: string) => void;
  signal?: AbortSignal;
}

/** About how many steps git bisect needs for this many candidate commits. */
const stepsFor = (commits: number) => Math.ceil(Math.log2(Math.max(1, commits)));

/**
 * Runs the bisection and returns its verdict with every step. Bad input found before any step
 * is thrown as a ConfigError; anything that ends it later is a verdict (`stopped`), so the
 * steps already run are still reported.
 */
export async function bisect(input: BisectInput, deps: BisectDeps): Promise<BisectResult> {
  const startedAt = new Date();
  const { labels } = input;
  const { log } = deps;
  const ws = await Workspace.open(input.repo, { cacheDir: input.cacheDir, cwd: input.cwd, label: labels.repo, log });
  const good = await ws.resolve(input.good, labels.good);
  const bad = await ws.resolve(input.bad, labels.bad);
  if (good === bad) throw new ConfigError(`${labels.good} ${input.good} and ${labels.bad} ${input.bad} are the same commit ${short(good)}: nothing to bisect`);
  if (!(await ws.isAncestor(good, bad))) {
    const swapped = await ws.isAncestor(bad, good);
    throw new ConfigError(
      `${labels.good} ${input.good} (${short(good)}) is not an ancestor of ${labels.bad} ${input.bad} (${short(bad)})` +
        (swapped
          ? `: it is the other way round; are ${labels.good} and ${labels.bad} swapped?`
          : ': they are on different lines of history; the good commit must be on the bad one\'s history'),
    );
  }
  const commits = await ws.countBetween(good, bad);
  const [goodInfo, badInfo] = [await ws.commitInfo(good), await ws.commitInfo(bad)];
  log(
    `bisect ${input.component} in ${ws.shownAs}: the first bad commit is one of the ${commits} after good ${short(good)} up to bad ${short(bad)}; ` +
      `the two ends are tested first, then about ${stepsFor(commits)} more`,
  );

  const signal = deps.signal ?? new AbortController().signal;
  const steps: StepRecord[] = [];
  const result = (verdict: Verdict): BisectResult => ({
    component: input.component,
    repo: ws.shownAs,
    good: goodInfo,
    bad: badInfo,
    commits,
    scenarios: input.scenarios,
    steps,
    verdict,
    startedAt,
    durationMs: Date.now() - startedAt.getTime(),
  });
  const interrupted = () =>
    result({ kind: 'stopped', cause: 'interrupted', reason: `stopped by ${String(signal.reason ?? 'a signal')} ${steps.length ? `during step ${steps.length}` : 'before the first step'}` });

  const worktree = await ws.addCheckout(bad);
  const test = async (commit: string, role: StepRecord['role'], note = ''): Promise<StepRecord> => {
    // A stop that came between steps (or during the clone) starts no new one; the catch below reports it.
    if (signal.aborted) throw new Error('stopped');
    const info = await ws.commitInfo(commit);
    const n = steps.length + 1;
    log(`step ${n} (${role}${note}): testing ${short(commit)} ${info.subject}`);
    const t0 = Date.now();
    const out = await deps.runStep({ n, commit, worktree, dir: join(input.logsDir, `step-${n}`), signal });
    const record: StepRecord = { n, commit: info, role, verdict: out.verdict, durationMs: Date.now() - t0, ...(out.reason ? { reason: out.reason } : {}), ...(out.log ? { log: out.log } : {}) };
    steps.push(record);
    log(`step ${n}: ${short(commit)} is ${out.verdict === 'skip' ? 'skipped' : out.verdict}${out.reason ? ` (${out.reason})` : ''}, ${formatDuration(record.durationMs)}${out.log ? `; log ${out.log}` : ''}`);
    return record;
  };
  try {
    const atBad = await test(bad, 'bad end');
    if (signal.aborted) return interrupted();
    if (atBad.verdict === 'good') return result({ kind: 'passes-on-bad' });
    if (atBad.verdict === 'skip') return result({ kind: 'untestable', end: 'bad', reason: atBad.reason ?? 'skipped' });

    await checkoutCommit(worktree, good);
    const atGood = await test(good, 'good end');
    if (signal.aborted) return interrupted();
    if (atGood.verdict === 'bad') return result({ kind: 'fails-on-good' });
    if (atGood.verdict === 'skip') return result({ kind: 'untestable', end: 'good', reason: atGood.reason ?? 'skipped' });

    let state = await startBisect(worktree, bad, good);
    while (state.kind === 'test') {
      const left = state.left !== undefined ? `, ${state.left} left after it, about ${state.steps} more step${state.steps === 1 ? '' : 's'}` : '';
      const record = await test(state.commit, 'bisect', left);
      if (signal.aborted) return interrupted();
      state = await markCommit(worktree, record.verdict);
    }
    if (state.kind === 'found') return result({ kind: 'culprit', culprit: await ws.commitInfo(state.commit) });
    const candidates: CommitInfo[] = [];
    for (const id of state.candidates) candidates.push(await ws.commitInfo(id));
    return result({ kind: 'inconclusive', candidates });
  } catch (e) {
    if (signal.aborted) return interrupted();
    const reason = (e as Error).message;
    return result({ kind: 'stopped', cause: e instanceof ConfigError ? 'input' : 'error', reason });
  } finally {
    // On every way out, also a signal's: no bisect state or worktree is left behind.
    await resetBisect(worktree);
    await ws.removeCheckout(worktree);
  }
}
