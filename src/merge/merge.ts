// `xen-pvh-virtio merge`: the reports of a matrix's shards as one. Each shard is read from
// its result.json when it left one (every field of the run, the timeline included), else from
// its JUnit file; a shard that left neither is an error in the merged report, found from the
// shards that did report (with 2/4 and 4/4 present, 1/4 and 3/4 are missing).
import { dirname, resolve } from 'node:path';
import { buildJunit, buildMergedSummary, parseResultFile } from '../report/index.js';
import type { ShardSummary } from '../report/index.js';
import { formatShard, readShard, type ShardSpec } from '../config/shard.js';
import type { RunResult } from '../scenario/result.js';
import { ConfigError } from '../errors.js';
import { findReports, readReport } from './inputs.js';
import { looksLikeJunit, readJunit, runFromJunit, shardOfJunit, writeJunitXml, type JunitSuite } from './junit.js';

/** All reports of one merge together: far more than a matrix of 256 shards writes. */
export const MAX_TOTAL_CHARS = 512 * 2 ** 20;

/** How a merged report's root is named, so a later merge can tell it from a shard's. */
const MERGED_NAME = 'xen-pvh-virtio merged';

/** One shard's report as read. */
export interface ShardRun {
  /** Where it was read from; absent for a shard that left no report. */
  source?: string;
  shard?: ShardSpec;
  result: RunResult;
  /** Its JUnit suites, as they go into the merged report. */
  suites: JunitSuite[];
}

export interface ReadRuns {
  runs: ShardRun[];
  /** What the reading passed over and why (a JUnit file that is the same run as a result.json, an .xml that is no report). */
  notes: string[];
}

/**
 * Every shard report under the given paths. A result.json makes the JUnit file it names (or,
 * moved elsewhere, one whose suites say exactly what its own would) redundant, so each run
 * counts once whichever of its files were given.
 */
export function readShardRuns(inputs: readonly string[], opts: { cwd: string; skip?: readonly string[] }): ReadRuns {
  const found = findReports(inputs, opts.cwd, opts.skip);
  let total = 0;
  // Each file is bounded; so is their sum, which a merge holds in memory.
  const read = (f: (typeof found)[number]) => {
    const text = readReport(f);
    total += text.length;
    if (total > MAX_TOTAL_CHARS) throw new ConfigError(`merge: the reports under ${inputs.join(', ')} hold more than ${MAX_TOTAL_CHARS / 2 ** 20} MiB; merge fewer at a time`);
    return text;
  };
  const notes: string[] = [];
  const runs: ShardRun[] = [];
  const covered = new Set<string>();
  const fingerprints = new Set<string>();
  for (const f of found.filter((x) => x.kind === 'result')) {
    const { result, junit } = parseResultFile(read(f), f.shownAs);
    if (junit !== undefined) covered.add(joinedPath(f.path, junit));
    const suites = readJunit(buildJunit(result), f.shownAs).suites;
    const shard = readShard(result.properties.shard);
    const print = fingerprint(suites, shard);
    if (print) fingerprints.add(print);
    runs.push({ source: f.shownAs, ...(shard ? { shard } : {}), result, suites });
  }
  for (const f of found.filter((x) => x.kind === 'junit')) {
    if (covered.has(f.path)) {
      notes.push(`${f.shownAs}: the JUnit report of a run read from its result.json`);
      continue;
    }
    const text = read(f);
    if (f.walked && !looksLikeJunit(text)) {
      notes.push(`${f.shownAs}: not a JUnit report, passed over`);
      continue;
    }
    const report = readJunit(text, f.shownAs);
    if (report.name?.startsWith(MERGED_NAME)) {
      // An earlier merge's output lying among the shards: reading it would count them twice.
      notes.push(`${f.shownAs}: a merged report, passed over`);
      continue;
    }
    const shard = shardOfJunit(report);
    const print = fingerprint(report.suites, shard);
    if (print && fingerprints.has(print)) {
      notes.push(`${f.shownAs}: the same run as a result.json already read`);
      continue;
    }
    runs.push({ source: f.shownAs, ...(shard ? { shard } : {}), result: runFromJunit(report), suites: report.suites });
  }
  return { runs, notes };
}

function joinedPath(resultFile: string, relativeJunit: string): string {
  // Only compared with the paths found, never opened: a hostile value reaches nothing.
  return resolve(dirname(resultFile), relativeJunit);
}

/**
 * A run's identity across its two files: everything its suites say (every duration, phase and
 * span to the millisecond, the harness's CPU time) but the timestamps, which JUnit writes in
 * the local time of whoever renders them.
 */
function fingerprint(suites: readonly JunitSuite[], shard: ShardSpec | undefined): string | undefined {
  if (suites.length === 0) return undefined;
  return JSON.stringify([shard ? formatShard(shard) : '', suites.map(({ timestamp: _, ...rest }) => rest)]);
}

export interface MergedRuns {
  /** Every shard in order (by shard count, then index, then source), the missing ones included. */
  runs: ShardRun[];
  /** All scenarios and builds of all shards, and a run-level failure when any shard had one: what the exit code and outputs are computed from. */
  combined: RunResult;
  /** The rig the shards used: one key, or every distinct key separated by spaces (shards of different refs). */
  rig?: { key: string; cacheHit: boolean };
  junit: string;
}

/**
 * The shards as one result. For each shard count n, every i/n is expected as often as the
 * most frequent one was found (a matrix of refs × shards has each i/n once per ref): each one
 * short is a missing shard, reported as an errored scenario named after it.
 */
export function mergeShardRuns(read: readonly ShardRun[], inputs: readonly string[]): MergedRuns {
  const runs = [...read];
  const byCount = new Map<number, Map<number, number>>();
  for (const r of runs) {
    if (!r.shard) continue;
    const seen = byCount.get(r.shard.count) ?? new Map<number, number>();
    seen.set(r.shard.index, (seen.get(r.shard.index) ?? 0) + 1);
    byCount.set(r.shard.count, seen);
  }
  for (const [n, seen] of byCount) {
    const expected = Math.max(...seen.values());
    for (let i = 1; i <= n; i++) {
      const found = seen.get(i) ?? 0;
      for (let k = found; k < expected; k++) runs.push(missingShard({ index: i, count: n }, expected, found));
    }
  }
  if (runs.length === 0) runs.push(noReports(inputs));
  runs.sort(
    (a, b) =>
      (a.shard?.count ?? 0) - (b.shard?.count ?? 0) ||
      (a.shard?.index ?? 0) - (b.shard?.index ?? 0) ||
      (a.source === undefined ? 1 : b.source === undefined ? -1 : a.source < b.source ? -1 : a.source > b.source ? 1 : 0),
  );

  const fatal = runs.filter((r) => r.result.fatal);
  const combined: RunResult = { scenarios: runs.flatMap((r) => r.result.scenarios), phases: [], timeline: [], properties: {} };
  // Every shard's builds: a tree that failed to build on one shard fails the merged run.
  const builds = runs.flatMap((r) => r.result.builds ?? []);
  if (builds.length > 0) combined.builds = builds;
  if (fatal.length > 0) {
    const label = (r: ShardRun) => (r.shard ? `shard ${formatShard(r.shard)}` : (r.source ?? 'a run'));
    const first = fatal[0]!.result.fatal!;
    combined.fatal = {
      status: fatal.some((r) => r.result.fatal!.status === 'failed') ? 'failed' : 'error',
      message: `${label(fatal[0]!)}: ${first.message}${fatal.length > 1 ? ` (and ${fatal.length - 1} more shard${fatal.length > 2 ? 's' : ''})` : ''}`,
      ...(first.kind ? { kind: first.kind } : {}),
    };
  }
  const rigs = runs.map((r) => r.result.rig).filter((x) => x !== undefined);
  const keys = [...new Set(rigs.map((x) => x.key))];
  const junit = writeJunitXml(`${MERGED_NAME} from ${read.length} report${read.length === 1 ? '' : 's'}`, runs.flatMap((r) => r.suites));
  return { runs, combined, junit, ...(keys.length ? { rig: { key: keys.join(' '), cacheHit: rigs.every((x) => x.cacheHit) } } : {}) };
}

/** A shard's place in the merge when it left no report: one errored scenario that says so. */
function missingShard(shard: ShardSpec, expected: number, found: number): ShardRun {
  const name = `shard ${formatShard(shard)}`;
  const message =
    `${name} left no report (expected ${expected === 1 ? 'one' : `${expected}, one per matrix row`}, found ${found === 0 ? 'none' : found}): ` +
    'its job ended before writing one, or its artifact was not among the inputs';
  return syntheticRun(name, message, { ...shard });
}

function noReports(inputs: readonly string[]): ShardRun {
  return syntheticRun('shard reports', `no shard report (result.json or JUnit .xml) in ${inputs.join(', ')}: no shard wrote one, or the artifacts were not downloaded`);
}

function syntheticRun(name: string, message: string, shard?: ShardSpec): ShardRun {
  const result: RunResult = {
    scenarios: [{ name, file: '', status: 'error', startedAt: new Date(), durationMs: 0, steps: [{ title: 'report', kind: 'report', status: 'error', durationMs: 0, message }] }],
    phases: [],
    timeline: [],
    properties: shard ? { shard: formatShard(shard) } : {},
    fatal: { status: 'error', message },
  };
  return { ...(shard ? { shard } : {}), result, suites: readJunit(buildJunit(result), name).suites };
}

/** The merged summary: totals, a row per shard, then each shard's own summary with its timeline. */
export function mergedSummary(merged: MergedRuns, paths: { junitPath: string; logsDir: string }): string {
  const shards: ShardSummary[] = merged.runs.map((r) => ({ shard: r.shard ? formatShard(r.shard) : '', ...(r.source !== undefined ? { source: r.source } : {}), result: r.result }));
  return buildMergedSummary(shards, merged.combined, paths);
}

