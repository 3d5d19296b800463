// The only writer of @actions/core outputs.
import * as core from '@actions/core';
import type { OutputName } from '../config/options.js';
import { counts, type RunResult } from '../scenario/result.js';

export function setOutputs(result: RunResult, paths: { junitPath: string; logsDir: string }): void {
  const c = counts(result);
  const values: Record<OutputName, string> = {
    'junit-path': paths.junitPath,
    passed: String(c.passed),
    failed: String(c.failed),
    errored: String(c.error),
    skipped: String(c.skipped),
    'rig-key': result.rig?.key ?? '',
    'logs-dir': paths.logsDir,
    'cache-hit': String(result.rig?.cacheHit ?? false),
  };
  for (const [name, value] of Object.entries(values)) core.setOutput(name, value);
}
