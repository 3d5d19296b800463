// git's own bisect, run in the bisection's worktree: git picks each commit to test (skipping
// away from skipped ones as it does for `git bisect skip`) and says when it is done. Its state
// lives in that worktree's own admin folder, so the user's checkouts and any other bisection
// of the same clone are untouched.
import { InfraError } from '../errors.js';
import { git, gitSaid } from './git.js';
import type { StepVerdict } from './result.js';

export type BisectState =
  | { kind: 'test'; commit: string; /** git's estimates: commits left after this one, steps left. */ left?: number; steps?: number }
  | { kind: 'found'; commit: string }
  | { kind: 'only-skipped'; candidates: string[] };

/** What git printed after `start`, `good`, `bad` or `skip`, with HEAD for the commit to test. */
export function parseBisectOutput(text: string, head: string): BisectState | undefined {
  const found = /^([0-9a-f]{40,64}) is the first bad commit/m.exec(text);
  if (found) return { kind: 'found', commit: found[1]! };
  if (/only 'skip'ped commits left to test/.test(text)) {
    const after = text.slice(text.indexOf('could be any of:'));
    return { kind: 'only-skipped', candidates: [...after.matchAll(/^([0-9a-f]{40,64})$/gm)].map((m) => m[1]!) };
  }
  const next = /^Bisecting: (\d+) revisions? left to test after this \(roughly (\d+) steps?\)/m.exec(text);
  if (next) return { kind: 'test', commit: head, left: Number(next[1]), steps: Number(next[2]) };
  return undefined;
}

async function outcome(worktree: string, r: { exitCode: number; stdout: string; stderr: string }, what: string): Promise<BisectState> {
  const head = (await git(worktree, ['rev-parse', 'HEAD'], { check: true })).stdout.trim();
  const state = parseBisectOutput(`${r.stdout}\n${r.stderr}`, head);
  if (!state) throw new InfraError(`git bisect ${what} in ${worktree} said something this harness does not understand (exit ${r.exitCode}): ${gitSaid(r)}`);
  return state;
}

/** Starts git bisect between two commits already tested (bad fails, good passes). */
export async function startBisect(worktree: string, bad: string, good: string): Promise<BisectState> {
  return outcome(worktree, await git(worktree, ['bisect', 'start', bad, good, '--']), 'start');
}

/** Records the verdict on the commit checked out now; git checks out the next one or says it is done. */
export async function markCommit(worktree: string, verdict: StepVerdict): Promise<BisectState> {
  return outcome(worktree, await git(worktree, ['bisect', verdict]), verdict);
}

/** Ends the bisect state; harmless when none was started. */
export async function resetBisect(worktree: string): Promise<void> {
  await git(worktree, ['bisect', 'reset']);
}

/** Checks out `commit` (detached) in the worktree, for the two ends tested before git bisect starts. */
export async function checkoutCommit(worktree: string, commit: string): Promise<void> {
  const r = await git(worktree, ['checkout', '-q', '--detach', commit]);
  if (r.exitCode !== 0) throw new InfraError(`cannot check out ${commit} in ${worktree}: ${gitSaid(r)}`);
}
