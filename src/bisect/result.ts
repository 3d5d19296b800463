// What a bisection produces: plain data that the reports (bisect.md, JUnit, outputs) and the
// exit code are made from.
import { ExitCode } from '../errors.js';

export const COMPONENTS = ['xen', 'qemu', 'linux'] as const;
export type Component = (typeof COMPONENTS)[number];

export interface CommitInfo {
  id: string;
  subject: string;
  /** "Name <email>". */
  author: string;
  /** The author date, ISO 8601 as git prints it. */
  date: string;
}

/** good: the scenarios passed; bad: one failed (the product); skip: it could not tell (build failure, infrastructure). */
export type StepVerdict = 'good' | 'bad' | 'skip';

export interface StepRecord {
  /** 1-based, in the order the steps ran. */
  n: number;
  commit: CommitInfo;
  /** Why this commit: the --bad end, the --good end, or git bisect's choice. */
  role: 'bad end' | 'good end' | 'bisect';
  verdict: StepVerdict;
  /** A skip's reason, or the failure that made the commit bad. */
  reason?: string;
  durationMs: number;
  /** The step's own log (the run's output), absolute. */
  log?: string;
}

export type Verdict =
  | { kind: 'culprit'; culprit: CommitInfo }
  /** Only skipped commits are left: the first bad commit is one of these. */
  | { kind: 'inconclusive'; candidates: CommitInfo[] }
  | { kind: 'passes-on-bad' }
  | { kind: 'fails-on-good' }
  /** An end could not be tested (a build failure or an infrastructure error there). */
  | { kind: 'untestable'; end: 'good' | 'bad'; reason: string }
  /** Ended before a verdict: bad input found at a step, a signal, or an error of the bisect itself. */
  | { kind: 'stopped'; cause: 'input' | 'interrupted' | 'error'; reason: string };

export interface BisectResult {
  component: Component;
  /** The repository as shown to people (credentials redacted). */
  repo: string;
  good: CommitInfo;
  bad: CommitInfo;
  /** Commits in good..bad, the range the first bad commit is in. */
  commits: number;
  /** The scenarios each step ran, as given. */
  scenarios: string;
  steps: StepRecord[];
  verdict: Verdict;
  startedAt: Date;
  durationMs: number;
}

/**
 * 1 when the scenarios fail on bad and a culprit, a range of candidates, or "fails on good too"
 * says where (so a nightly follow-up job stays red and points at it); 0 when they pass on bad
 * (nothing to bisect); 2 for bad input; 3 when an end could not be tested or the bisect was stopped.
 */
export function bisectExitCode(v: Verdict): number {
  switch (v.kind) {
    case 'culprit':
    case 'inconclusive':
    case 'fails-on-good':
      return ExitCode.failed;
    case 'passes-on-bad':
      return ExitCode.passed;
    case 'untestable':
      return ExitCode.infrastructure;
    case 'stopped':
      return v.cause === 'input' ? ExitCode.usage : ExitCode.infrastructure;
  }
}

export const short = (id: string) => id.slice(0, 12);
