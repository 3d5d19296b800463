// Every report a run leaves, written in one place: by a run at its end, and by a run that
// could not start (src/action/failure.ts). A new format is one more line here.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { shardProperties } from '../config/shard.js';
import type { ShardSpec } from '../config/types.js';
import type { RunResult } from '../scenario/result.js';
import { writeJunit } from './junit.js';
import { writeResultFile } from './result-file.js';
import { buildSummary } from './summary.js';

export interface ReportTarget {
  junitPath: string;
  logsDir: string;
  shard?: (ShardSpec & { selected?: number }) | undefined;
}

export interface WrittenReports {
  /** The Markdown summary, for the job page. */
  summary: string;
  /** What could not be written (lenient mode only). */
  problems: string[];
}

/**
 * Writes JUnit, summary.md and result.json. A run whose paths were checked before it started
 * throws on the first failure; `lenient` (a run that could not start, where a bad junit-path
 * or logs-dir is often the very error) writes each report where it can and lists the rest.
 */
export function writeReports(target: ReportTarget, result: RunResult, opts: { lenient?: boolean } = {}): WrittenReports {
  // A shard's reports say which shard they are: for whoever reads one, and for `merge`.
  if (target.shard) Object.assign(result.properties, shardProperties(target.shard));
  const summary = buildSummary(result, target);
  const problems: string[] = [];
  const attempt = (what: string, write: () => void) => {
    try {
      write();
    } catch (e) {
      if (!opts.lenient) throw e;
      problems.push(`${what}: ${(e as Error).message}`);
    }
  };
  attempt('JUnit', () => writeJunit(result, target.junitPath));
  attempt('summary.md', () => {
    mkdirSync(target.logsDir, { recursive: true });
    writeFileSync(join(target.logsDir, 'summary.md'), summary);
  });
  // For `merge`: a shard that ran (or failed to start) is not the same as one that left nothing.
  attempt('result.json', () => writeResultFile(target.logsDir, result, target.junitPath));
  return { summary, problems };
}
