// A run that could not run (a bad input, an unreadable bundle, a crash) still ends the way a
// workflow's next steps expect: the junit-path and logs-dir outputs set, a job summary, a
// report where one can be written, and one annotation with a one-line cause. The full text
// (a stack included) goes to the debug log only.
import { isAbsolute, resolve } from 'node:path';
import * as core from '@actions/core';
import { OPTIONS, type RawOptions } from '../config/options.js';
import { parseShard, type ShardSpec } from '../config/shard.js';
import { ConfigError } from '../errors.js';
import { writeReports } from '../report/index.js';
import type { RunResult } from '../scenario/result.js';
import { redactCredentials } from '../secrets.js';
import { setOutputs } from './outputs.js';

export interface ReportPaths {
  junitPath: string;
  logsDir: string;
  /** The job's shard, when known: its failure report then counts as that shard's in a merge. */
  shard?: ShardSpec & { selected?: number };
}

/** Where the reports would go, from the raw inputs (the plan may be what failed). */
export function pathsFromInputs(raw: RawOptions, cwd: string): ReportPaths {
  const pick = (name: 'junit-path' | 'logs-dir') => {
    const v = raw.values[name]?.trim() || OPTIONS[name].default;
    return isAbsolute(v) ? v : resolve(cwd, v);
  };
  let shard: ShardSpec | undefined;
  try {
    shard = parseShard(raw.values.shard, 'shard');
  } catch {
    // A bad shard input may be the very error being reported: the report then names no shard.
  }
  return { junitPath: pick('junit-path'), logsDir: pick('logs-dir'), ...(shard ? { shard } : {}) };
}

/** The failure as an annotation's one line: the kind, then the message's first line. */
export function oneLine(e: unknown): string {
  const kind = e instanceof ConfigError ? 'configuration error' : 'infrastructure error';
  const first = (e instanceof Error ? e.message : String(e)).split('\n')[0]!.trim();
  return redactCredentials(`${kind}: ${first}`);
}

/** Reports a run that ended before any scenario could run, on every channel a run uses. */
export async function reportFailure(e: unknown, paths: ReportPaths, scenarios: readonly { name: string; file: string }[] = []): Promise<void> {
  const line = oneLine(e);
  core.debug(redactCredentials(e instanceof Error ? (e.stack ?? e.message) : String(e)));
  const message = redactCredentials(e instanceof Error ? e.message : String(e));
  const result: RunResult = {
    scenarios: scenarios.map((s) => ({ name: s.name, file: s.file, status: 'error', startedAt: new Date(), durationMs: 0, steps: [{ title: 'run', kind: 'run', status: 'error', durationMs: 0, message }] })),
    phases: [],
    timeline: [],
    properties: {},
    fatal: { status: 'error', message: line.slice(line.indexOf(': ') + 2), kind: e instanceof ConfigError ? 'Configuration error' : 'Infrastructure error' },
  };
  // Each report is written where it can be: a bad junit-path or logs-dir is often the very error.
  const { summary, problems } = writeReports(paths, result, { lenient: true });
  for (const p of problems) core.debug(`report not written: ${p}`);
  setOutputs(result, paths);
  // The job page is a courtesy here: the run already failed, and its exit code and outputs say so.
  await core.summary.addRaw(summary).write().catch(() => undefined);
  core.setFailed(line);
}
