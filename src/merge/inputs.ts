// Where a merge's reports come from: the files and folders it was given, which hold other
// jobs' artifacts. Nothing there is trusted. A folder is walked without following symbolic
// links, so nothing outside what was given is read; only regular files are opened, each read
// to a bound; and every error names the file.
import { closeSync, constants, fstatSync, openSync, readSync, readdirSync, realpathSync, statSync } from 'node:fs';
import { isAbsolute, join, relative, resolve } from 'node:path';
import { ConfigError } from '../errors.js';
import { RESULT_FILE } from '../report/result-file.js';

/** A report far larger than any run writes is refused, not read into memory. */
export const MAX_REPORT_BYTES = 32 * 1024 * 1024;
/** Bounds on a folder walk: an artifact holds a few hundred files a few levels deep. */
const MAX_DEPTH = 12;
const MAX_ENTRIES = 100_000;
const MAX_REPORTS = 4096;

export interface FoundReport {
  /** Absolute, as found (never through a link inside a given folder). */
  path: string;
  /** How messages and the summary name it: relative to the working directory when inside it. */
  shownAs: string;
  kind: 'result' | 'junit';
  /** Found by walking a folder rather than named: a non-JUnit .xml there is passed over, not an error. */
  walked: boolean;
}

export function shownAs(path: string, cwd: string): string {
  const rel = relative(cwd, path);
  return rel && !rel.startsWith('..') && !isAbsolute(rel) ? rel : path;
}

/**
 * Every result.json and .xml file under the given paths, each once, in a stable order. A
 * path that does not exist, or a named file that is neither, is a ConfigError naming it.
 * `skip` holds paths never to read (the merge's own output, if it lies among the inputs).
 */
export function findReports(inputs: readonly string[], cwd: string, skip: readonly string[] = []): FoundReport[] {
  if (inputs.length === 0) throw new ConfigError('merge: expected the shards\' reports: folders holding them (e.g. the downloaded artifacts) or JUnit .xml and result.json files');
  const found: FoundReport[] = [];
  const seen = new Set(skip.map((p) => realOrSelf(p)));
  let entries = 0;
  const add = (path: string, kind: FoundReport['kind'], walked: boolean) => {
    const real = realOrSelf(path);
    if (seen.has(real)) return;
    seen.add(real);
    if (found.length >= MAX_REPORTS) throw new ConfigError(`merge: more than ${MAX_REPORTS} reports among ${inputs.join(', ')}`);
    found.push({ path, shownAs: shownAs(path, cwd), kind, walked });
  };
  const walk = (dir: string, depth: number, given: string) => {
    if (depth > MAX_DEPTH) throw new ConfigError(`merge: ${given}: folders nested deeper than ${MAX_DEPTH} levels`);
    let list;
    try {
      list = readdirSync(dir, { withFileTypes: true });
    } catch (e) {
      throw new ConfigError(`merge: ${shownAs(dir, cwd)}: cannot read the folder: ${(e as Error).message}`);
    }
    list.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const entry of list) {
      if (++entries > MAX_ENTRIES) throw new ConfigError(`merge: ${given}: more than ${MAX_ENTRIES} files and folders`);
      const path = join(dir, entry.name);
      // Links are not followed: a link in an artifact could point anywhere on this runner.
      if (entry.isDirectory()) walk(path, depth + 1, given);
      else if (entry.isFile() && entry.name === RESULT_FILE) add(path, 'result', true);
      else if (entry.isFile() && entry.name.endsWith('.xml')) add(path, 'junit', true);
    }
  };
  for (const input of inputs) {
    const path = resolve(cwd, input);
    let st;
    try {
      st = statSync(path);
    } catch {
      throw new ConfigError(`merge: ${input}: no such file or folder`);
    }
    if (st.isDirectory()) walk(path, 0, input);
    else if (st.isFile() && input.endsWith('.json')) add(path, 'result', false);
    else if (st.isFile() && input.endsWith('.xml')) add(path, 'junit', false);
    else throw new ConfigError(`merge: ${input}: expected a folder, a JUnit .xml file or a ${RESULT_FILE}`);
  }
  return found;
}

function realOrSelf(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return resolve(path);
  }
}

/**
 * The file's text, UTF-8, at most MAX_REPORT_BYTES. A walked file is opened without
 * following a link (it was a regular file when listed; it must still be one when opened).
 */
export function readReport(report: Pick<FoundReport, 'path' | 'shownAs' | 'walked'>, limit = MAX_REPORT_BYTES): string {
  let fd: number;
  try {
    // O_NONBLOCK: a FIFO put in place of the file must not hang the merge on open.
    fd = openSync(report.path, constants.O_RDONLY | constants.O_NONBLOCK | (report.walked ? constants.O_NOFOLLOW : 0));
  } catch (e) {
    throw new ConfigError(`merge: ${report.shownAs}: cannot open: ${(e as Error).message}`);
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw new ConfigError(`merge: ${report.shownAs}: not a regular file`);
    if (st.size > limit) throw new ConfigError(`merge: ${report.shownAs}: ${st.size} bytes, more than a report may have (${limit})`);
    // One byte more than the size said: a file that grows while it is read is not read on.
    const buf = Buffer.alloc(st.size + 1);
    let got = 0;
    for (let n; got < buf.length && (n = readSync(fd, buf, got, buf.length - got, null)) > 0; ) got += n;
    if (got > st.size) throw new ConfigError(`merge: ${report.shownAs}: changed while it was read`);
    try {
      return new TextDecoder('utf-8', { fatal: true }).decode(buf.subarray(0, got));
    } catch {
      throw new ConfigError(`merge: ${report.shownAs}: not UTF-8 text`);
    }
  } finally {
    closeSync(fd);
  }
}
