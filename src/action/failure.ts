// A run that could not run (a bad input, an unreadable bundle, a crash) still ends the way a
// workflow's next steps expect: the junit-path and logs-dir outputs set, a job summary, a
// report where one can be written, and one annotation with a one-line cause. The full text
// (a stack included) goes to the debug log only.
import { mkdirSync, writeFileSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import * as core from '@actions/core';
import { OPTIONS, type RawOptions } from '../config/options.js';
import { ConfigError } from '../errors.js';
import { buildJunit, buildSummary } from '../report/index.js';
import type { RunResult } from '../scenario/result.js';
import { redactCredentials } from '../secrets.js';
import { setOutputs } from './outputs.js';

export interface ReportPaths {
  junitPath: string;
  logsDir: string;
}

/** Where the reports would go, from the raw inputs (the plan may be what failed). */
export function pathsFromInputs(raw: RawOptions, cwd: string): ReportPaths {
  const pick = (name: 'junit-path' | 'logs-dir') => {
    const v = raw.values[name]?.trim() || OPTIONS[name].default;
    return isAbsolute(v) ? v : resolve(cwd, v);
  };
  return { junitPath: pick('junit-path'), logsDir: pick('logs-dir') };
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
  const summary = buildSummary(result, paths);
  // Each written where it can be: a bad junit-path or logs-dir is often the very error.
  try {
    mkdirSync(paths.logsDir, { recursive: true });
    writeFileSync(join(paths.logsDir, 'summary.md'), summary);
  } catch {
    // The summary still reaches the job page below.
  }
  try {
    mkdirSync(join(paths.junitPath, '..'), { recursive: true });
    writeFileSync(paths.junitPath, buildJunit(result));
  } catch {
    // As above: the outputs still name where the report was asked for.
  }
  setOutputs(result, paths);
  await core.summary.addRaw(summary).write().catch(() => undefined);
  core.setFailed(line);
}
