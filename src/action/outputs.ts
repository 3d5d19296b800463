// The only writer of the action's outputs: through @actions/core in the action, and straight
// into $GITHUB_OUTPUT for `xen-pvh-virtio merge`, a CLI command run in a workflow's step.
import { randomUUID } from 'node:crypto';
import { appendFileSync } from 'node:fs';
import * as core from '@actions/core';
import type { OutputName } from '../config/options.js';
import { counts, type RunResult } from '../scenario/result.js';

/** What a run's outputs say; `rig` overrides the result's own rig (a merge of shards on several rigs). */
export function outputValues(
  result: RunResult,
  paths: { junitPath: string; logsDir: string },
  rig: { key: string; cacheHit: boolean } | undefined = result.rig,
): Record<OutputName, string> {
  const c = counts(result);
  return {
    'junit-path': paths.junitPath,
    passed: String(c.passed),
    failed: String(c.failed),
    errored: String(c.error),
    skipped: String(c.skipped),
    'rig-key': rig?.key ?? '',
    'logs-dir': paths.logsDir,
    'cache-hit': String(rig?.cacheHit ?? false),
  };
}

export function setOutputs(result: RunResult, paths: { junitPath: string; logsDir: string }): void {
  for (const [name, value] of Object.entries(outputValues(result, paths))) core.setOutput(name, value);
}

/**
 * Appends outputs to a step's output file ($GITHUB_OUTPUT) in the runner's multi-line form,
 * each value between delimiter lines no value can contain (a fresh random one per value).
 */
export function appendOutputs(file: string, values: Record<string, string>): void {
  const text = Object.entries(values)
    .map(([name, value]) => {
      const delimiter = `xen_pvh_virtio_${randomUUID()}`;
      return `${name}<<${delimiter}\n${value}\n${delimiter}\n`;
    })
    .join('');
  appendFileSync(file, text);
}
