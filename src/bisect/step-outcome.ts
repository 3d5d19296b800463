// A step's verdict from how its run ended: the exit code says which class, result.json says
// why. 0 all passed → good; 1 a scenario failed → bad, unless a build failed (then the commit
// cannot be judged: skip); 3 infrastructure → skip; 2 bad input → the whole bisection stops,
// since every step gets the same input.
import { ConfigError } from '../errors.js';
import { parseResultFile } from '../report/result-file.js';
import type { RunResult } from '../scenario/result.js';
import type { StepOutcome } from './driver.js';

export interface StepExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** The text of the step's result.json, when it left one. */
  resultText?: string;
  /** The end of the step's log (the run's stderr and stdout). */
  logTail: string;
  /** The step's log, absolute, for messages. */
  log: string;
}

const firstLine = (text: string) => {
  const line = text.trim().split('\n')[0]!.trim();
  return line.length > 300 ? `${line.slice(0, 299)}…` : line;
};

/** The last line of the log that starts with `prefix` (what the CLI printed as it ended), without it. */
function logLine(tail: string, prefix: string): string | undefined {
  const lines = tail.split('\n').filter((l) => l.startsWith(prefix));
  return lines.length ? lines[lines.length - 1]!.slice(prefix.length).trim() : undefined;
}

function readResult(text: string | undefined): RunResult | undefined {
  if (text === undefined) return undefined;
  try {
    return parseResultFile(text, 'result.json').result;
  } catch {
    return undefined;
  }
}

/** The first build of a tree under test that failed, as "component: first error". */
function failedBuild(result: RunResult | undefined): string | undefined {
  const failed = result?.builds?.find((b) => b.status === 'failed');
  return failed ? `${failed.component}: ${firstLine(failed.message ?? 'failed')}` : undefined;
}

/** The first scenario that ended with `status`, as "scenario: step: message". */
function firstEnded(result: RunResult | undefined, status: 'failed' | 'error'): string | undefined {
  for (const s of result?.scenarios ?? []) {
    if (s.status !== status) continue;
    const step = s.steps.find((x) => x.status === status);
    return `${s.name}: ${step ? `${step.title}: ${firstLine(step.message ?? status)}` : status}`;
  }
  return undefined;
}

export function classifyStep(exit: StepExit): StepOutcome {
  const result = readResult(exit.resultText);
  const log = { log: exit.log };
  // A commit that does not build cannot be judged, however the run classed it.
  const build = failedBuild(result);
  switch (exit.code) {
    case 0: {
      if (!result) return { verdict: 'skip', reason: 'the run passed but left no result.json to confirm it', ...log };
      const skipped = result.scenarios.find((s) => s.status !== 'passed');
      if (skipped) return { verdict: 'skip', reason: `scenario ${skipped.name} was ${skipped.status}${skipped.skipReason ? `: ${firstLine(skipped.skipReason)}` : ''}`, ...log };
      return { verdict: 'good', ...log };
    }
    case 1: {
      if (build) return { verdict: 'skip', reason: `build failure: ${build}`, ...log };
      const fatal = result?.fatal?.status === 'failed' ? firstLine(result.fatal.message) : undefined;
      return { verdict: 'bad', reason: firstEnded(result, 'failed') ?? fatal ?? logLine(exit.logTail, 'failure:') ?? 'a scenario failed', ...log };
    }
    case 2: {
      const said = logLine(exit.logTail, 'error:') ?? (result?.fatal ? firstLine(result.fatal.message) : 'see its log');
      throw new ConfigError(`the run refused its input (exit 2), and every step would: ${said} (log ${exit.log})`);
    }
    case 3: {
      if (build) return { verdict: 'skip', reason: `build failure: ${build}`, ...log };
      const why = (result?.fatal ? firstLine(result.fatal.message) : undefined) ?? firstEnded(result, 'error') ?? logLine(exit.logTail, 'infrastructure error:') ?? 'see its log';
      return { verdict: 'skip', reason: `infrastructure error: ${why}`, ...log };
    }
    default:
      return { verdict: 'skip', reason: exit.signal ? `the run was ended by ${exit.signal}` : `the run exited with ${exit.code}`, ...log };
  }
}
