// result.json: the run's RunResult as data, beside summary.md in logs-dir. JUnit keeps what
// CI readers show; this keeps the rest (the timeline, phases, the fatal error, retries), so
// `xen-pvh-virtio merge` can rebuild each shard's summary exactly. It is read back on another
// machine from an artifact anyone with write access to the workflow could have replaced, so
// reading it checks every field before anything trusts it.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { z } from 'zod';
import { ConfigError } from '../errors.js';
import { redactCredentials } from '../secrets.js';
import type { RunResult } from '../scenario/result.js';

export const RESULT_FILE = 'result.json';
const FORMAT = 'xen-pvh-virtio-run-result';
const VERSION = 1;

export interface ResultFile {
  result: RunResult;
  /** Where the run's JUnit report was, relative to this file's folder (as the run wrote them). */
  junit?: string;
}

/** Writes `<logsDir>/result.json`; returns its path. */
export function writeResultFile(logsDir: string, result: RunResult, junitPath?: string): string {
  const file = join(logsDir, RESULT_FILE);
  const doc = { format: FORMAT, version: VERSION, ...(junitPath ? { junit: relative(logsDir, junitPath) } : {}), result };
  mkdirSync(dirname(file), { recursive: true });
  // Messages quote git and the guests, as in the other reports: no token may reach the file.
  writeFileSync(file, redactCredentials(JSON.stringify(doc, null, 1)) + '\n');
  return file;
}

// Counts well past any real run, so a hostile file cannot make the merge build a huge report
// out of a small one; the size of the strings is bounded by the file's (merge reads 32 MiB at most).
const MANY = 10_000;
const str = z.string();
const ms = z.number().min(0).max(1e12);
const status = z.enum(['passed', 'failed', 'error', 'skipped']);
const date = z
  .string()
  .max(64)
  .refine((s) => !Number.isNaN(Date.parse(s)), 'expected a date')
  .transform((s) => new Date(s));

// A step's profile: a fixed set of numbers (times in ms, counts), each optional.
const amount = ms.optional();
const profileSchema = z.object({
  guestMs: amount,
  typedBytes: amount,
  echoWaits: amount,
  typingMs: amount,
  focusSwitches: amount,
  focusMs: amount,
  turnMs: amount,
  exitStatusMs: amount,
  roundTrips: amount,
  connectMs: amount,
  openMs: amount,
});

const stepSchema = z.object({
  title: str,
  kind: str,
  status,
  durationMs: ms,
  where: z.object({ file: str, line: z.int().min(0), column: z.int().min(0) }).optional(),
  notRun: z.literal(true).optional(),
  message: str.optional(),
  forensics: str.optional(),
  excerpt: str.optional(),
  errorKind: z.enum(['infrastructure', 'configuration', 'internal']).optional(),
  profile: profileSchema.optional(),
});

const scenarioSchema = z.object({
  name: str,
  file: str,
  status,
  skipReason: str.optional(),
  startedAt: date,
  durationMs: ms,
  steps: z.array(stepSchema).max(MANY),
  system: z.enum(['booted', 'restored']).optional(),
  systemNumber: z.int().min(1).max(MANY).optional(),
  retriedAfter: z.object({ status, step: str, message: str, durationMs: ms }).optional(),
  warnings: z.array(z.object({ domain: str, line: str, trace: z.array(str).max(MANY), expected: z.boolean() })).max(MANY).optional(),
});

const buildSchema = z.object({
  component: str,
  status: z.enum(['passed', 'failed']),
  cached: z.boolean(),
  durationMs: ms,
  message: str.optional(),
  excerpt: str.optional(),
  logFile: str.optional(),
  step: str.optional(),
});

const runSchema = z.object({
  scenarios: z.array(scenarioSchema).max(MANY),
  builds: z.array(buildSchema).max(MANY).optional(),
  timeline: z.array(z.object({ section: str, name: str, startMs: ms, endMs: ms })).max(MANY),
  rig: z.object({ key: str, provider: str, versions: z.record(str, str.optional()), cacheHit: z.boolean() }).optional(),
  phases: z.array(z.object({ name: str, atMs: ms })).max(MANY),
  properties: z.record(str, str),
  fatal: z
    .object({
      status: z.enum(['failed', 'error']),
      message: str,
      // The summary prints the kind as its own words, so only plain words are accepted.
      kind: z.string().regex(/^[A-Za-z][A-Za-z ]{0,40}$/).optional(),
    })
    .optional(),
});

const fileSchema = z.object({
  format: z.literal(FORMAT),
  version: z.literal(VERSION),
  junit: str.optional(),
  result: runSchema,
});

/** The result.json text read from `shownAs`; a ConfigError naming it and the field when it is not one. */
export function parseResultFile(text: string, shownAs: string): ResultFile {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new ConfigError(`${shownAs}: not valid JSON: ${(e as Error).message}`);
  }
  const parsed = fileSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const at = issue.path.length ? issue.path.map(String).join('.') : '(top)';
    throw new ConfigError(`${shownAs}: not a run result this harness wrote: ${at}: ${issue.message}`);
  }
  const { result, junit } = parsed.data;
  return { result, ...(junit !== undefined ? { junit } : {}) };
}
