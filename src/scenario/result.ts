// What a scenario run produces: plain data that report/ turns into JUnit and summaries.
import type { SourcePos } from '../errors.js';
import type { StepProfile } from '../steps/kind.js';

export type { StepProfile } from '../steps/kind.js';

/** passed; failed = the product misbehaved; error = the harness or host did; skipped = not run. */
export type Status = 'passed' | 'failed' | 'error' | 'skipped';

export interface StepResult {
  title: string;
  kind: string;
  status: Status;
  durationMs: number;
  where?: SourcePos;
  /** Why it failed, errored or was skipped. */
  message?: string;
  /** Where the evidence collected after this step failed went, relative to the logs dir. */
  forensics?: string;
  /** The console or command output around the step, for <system-out>. */
  excerpt?: string;
  /** For an errored step: whose error it was. Only an infrastructure error is worth a retry. */
  errorKind?: ErrorKind;
  /**
   * Never started because an earlier step of its scenario failed or errored (status skipped).
   * Not the same as a skip for a missing capability: JUnit leaves such steps out and names
   * them under the step that ended the scenario, so "1 failed" is not "1 failed, 4 skipped".
   */
  notRun?: true;
  /** Where a passed step's time went (result.json only; the benchmark reads it). */
  profile?: StepProfile;
}

/** infrastructure: host or harness environment (QEMU, SSH, ports); configuration: bad input; internal: a harness bug. */
export type ErrorKind = 'infrastructure' | 'configuration' | 'internal';

/** The attempt that ended in an infrastructure error before the reported one ran on a fresh boot. */
export interface FirstAttempt {
  status: Status;
  /** The step that errored and its message. */
  step: string;
  message: string;
  durationMs: number;
}

export interface ScenarioResult {
  name: string;
  file: string;
  status: Status;
  /** Set when the whole scenario was skipped (e.g. the rig lacks a capability). */
  skipReason?: string;
  startedAt: Date;
  durationMs: number;
  steps: StepResult[];
  /** The machine it ran on: booted for the run, or restored from a saved booted system. */
  system?: 'booted' | 'restored';
  /** Which of the run's systems it ran on (1 is the first started): with several at once, which one. */
  systemNumber?: number;
  /** Set when this is the second attempt: what the first one ended with. */
  retriedAfter?: FirstAttempt;
  /** Kernel and Xen warnings its system printed (its boot's included), each once. */
  warnings?: ReportedWarning[];
}

/** A warning-class line with its trace, and whether the scenario declared it expected. */
export interface ReportedWarning {
  domain: string;
  line: string;
  trace: string[];
  expected: boolean;
}

/** A named moment of the run (QEMU start, Xen banner, dom0 shell …) in ms from run start. */
export interface Phase {
  name: string;
  atMs: number;
}

/** A stretch of the run (rig, a boot, a save, a restore, a scenario), in ms from run start. */
export interface Span {
  section: string;
  name: string;
  startMs: number;
  endMs: number;
}

/**
 * One build of a tree under test (rig: source's Xen and QEMU), a test case of its own. Read
 * back from result.json by other tools (`result.builds?.some((b) => b.status === 'failed')`
 * says the trees did not build): change its fields only compatibly.
 */
export interface BuildResult {
  /** The tree: "xen", "qemu". */
  component: string;
  status: 'passed' | 'failed';
  /** Taken from the cache: nothing was compiled. */
  cached: boolean;
  durationMs: number;
  /** Failed: the first compiler or tool error in the failed step's log, else what failed. */
  message?: string;
  /** Failed: the log's last lines (at most 40 lines, 8 KiB). */
  excerpt?: string;
  /** Failed: the failed step's full log. */
  logFile?: string;
  /** Failed: the step that failed ("make -j8 …", "configure …"). */
  step?: string;
}

export interface RunResult {
  scenarios: ScenarioResult[];
  /** The builds of the trees under test, in build order; absent when the rig builds none (or came from elsewhere). */
  builds?: BuildResult[];
  /** What the run spent its time on, for the timeline picture. */
  timeline: Span[];
  rig?: { key: string; provider: string; versions: Record<string, string | undefined>; cacheHit: boolean };
  phases: Phase[];
  /** Extra facts for the JUnit <properties> (boot path, host, harness version). */
  properties: Record<string, string>;
  /** A failure that ended the run before or between scenarios; `kind` names it in the summary when it is neither the product's nor the infrastructure's (a configuration error). */
  fatal?: { status: 'failed' | 'error'; message: string; kind?: string };
}

export function scenarioStatus(steps: readonly StepResult[]): Status {
  if (steps.some((s) => s.status === 'error')) return 'error';
  if (steps.some((s) => s.status === 'failed')) return 'failed';
  if (steps.length > 0 && steps.every((s) => s.status === 'skipped')) return 'skipped';
  return 'passed';
}

export function counts(result: RunResult): Record<Status, number> {
  const c: Record<Status, number> = { passed: 0, failed: 0, error: 0, skipped: 0 };
  for (const s of result.scenarios) c[s.status]++;
  return c;
}
