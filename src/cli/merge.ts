// `xen-pvh-virtio merge DIR|FILE…`: the last job of a matrix joins its shards' reports into
// one JUnit report and one summary, sets the outputs a run sets and exits as a run would, so
// the workflow's last step reads like a single job's.
import { appendFileSync, writeFileSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { appendOutputs, outputValues } from '../action/outputs.js';
import { OPTION_NAMES, OPTIONS, type RawOptions } from '../config/options.js';
import { prepareOutputPaths } from '../config/output-paths.js';
import { ConfigError } from '../errors.js';
import { mergedSummary, mergeShardRuns, readShardRuns } from '../merge/merge.js';
import { exitCodeFor } from '../run.js';
import { counts } from '../scenario/result.js';
import { redactCredentials } from '../secrets.js';

export interface MergeIo {
  out(text: string): void;
  err(text: string): void;
  cwd: string;
  /** GITHUB_OUTPUT and GITHUB_STEP_SUMMARY, when run in a workflow step. */
  env: NodeJS.ProcessEnv;
}

/** The options merge takes: where the merged report goes, named as for a run. */
const OWN = ['junit-path', 'logs-dir'] as const;

export function mergeCommand(inputs: readonly string[], raw: RawOptions, io: MergeIo): number {
  const others = OPTION_NAMES.filter((n) => raw.values[n] !== undefined && !(OWN as readonly string[]).includes(n));
  if (others.length > 0) {
    throw new ConfigError(`merge takes ${OWN.map((n) => raw.label(n)).join(' and ')} (where the merged report goes), not ${others.map((n) => raw.label(n)).join(', ')}`);
  }
  const pick = (name: (typeof OWN)[number]) => {
    const v = raw.values[name]?.trim() || OPTIONS[name].default;
    return isAbsolute(v) ? v : resolve(io.cwd, v);
  };
  const paths = { junitPath: pick('junit-path'), logsDir: pick('logs-dir') };
  prepareOutputPaths({ ...paths, labels: { junitPath: raw.label('junit-path'), logsDir: raw.label('logs-dir') } });

  // The merged report may be written among the inputs (merging twice into the same folder): never read it back as a shard.
  const read = readShardRuns(inputs, { cwd: io.cwd, skip: [paths.junitPath] });
  for (const note of read.notes) io.err(`${note}\n`);
  const merged = mergeShardRuns(read.runs, inputs);

  writeFileSync(paths.junitPath, redactCredentials(merged.junit));
  const summary = mergedSummary(merged, paths);
  writeFileSync(join(paths.logsDir, 'summary.md'), summary);
  // In a workflow step: the job's summary and outputs, as the action's own step sets them.
  if (io.env.GITHUB_STEP_SUMMARY) appendFileSync(io.env.GITHUB_STEP_SUMMARY, summary);
  if (io.env.GITHUB_OUTPUT) appendOutputs(io.env.GITHUB_OUTPUT, outputValues(merged.combined, paths, merged.rig));

  const c = counts(merged.combined);
  const reports = merged.runs.filter((r) => r.source !== undefined).length;
  const missing = merged.runs.length - reports;
  io.err(`${reports} shard report${reports === 1 ? '' : 's'}${missing ? `, ${missing} missing` : ''}: ${c.passed} passed, ${c.failed} failed, ${c.error} errored, ${c.skipped} skipped — JUnit ${paths.junitPath}, summary ${join(paths.logsDir, 'summary.md')}\n`);
  for (const r of merged.runs.filter((x) => x.result.fatal)) {
    io.err(`${r.result.fatal!.status === 'error' ? 'infrastructure error' : 'failure'}: ${r.source ?? 'missing shard'}: ${r.result.fatal!.message}\n`);
  }
  return exitCodeFor(merged.combined);
}
