// Where a run writes (junit-path, logs-dir), checked and its folders made before anything
// starts: a report path that names a folder would otherwise fail only when the report is
// written, after the whole run, and the report would be lost.
import { accessSync, constants, mkdirSync, statSync, type Stats } from 'node:fs';
import { dirname, join, sep } from 'node:path';
import { ConfigError } from '../errors.js';
import type { RunPlan } from './types.js';

function statOf(path: string): Stats | undefined {
  try {
    return statSync(path);
  } catch {
    return undefined;
  }
}

/** The nearest existing ancestor of `path` (itself included) when it is not a folder. */
function fileInTheWay(path: string): string | undefined {
  for (let p = path; ; p = dirname(p)) {
    const st = statOf(p);
    if (st) return st.isDirectory() ? undefined : p;
    if (dirname(p) === p) return undefined;
  }
}

/** Refuses `dir` when a file sits where it or one of its parents would be. */
function checkFolder(dir: string, label: string): void {
  const blocker = fileInTheWay(dir);
  if (blocker === dir) throw new ConfigError(`${label}: ${dir} is a file, not a directory`);
  if (blocker) throw new ConfigError(`${label}: cannot create ${dir}: ${blocker} is a file, not a directory`);
}

/** Makes `dir` and its parents and checks that we may write in it. */
function makeFolder(dir: string, label: string): void {
  try {
    mkdirSync(dir, { recursive: true });
    accessSync(dir, constants.W_OK | constants.X_OK);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new ConfigError(`${label}: cannot write in ${dir}${code === 'EACCES' || code === 'EPERM' || code === 'EROFS' ? ' (permission denied)' : `: ${(e as Error).message}`}`);
  }
}

/**
 * Checks both output paths, then makes their folders (nothing is made unless both are
 * sound); a ConfigError names the flag or input.
 */
export function prepareOutputPaths(plan: Pick<RunPlan, 'junitPath' | 'logsDir' | 'labels'>): void {
  const { junitPath, logsDir, labels } = plan;
  checkFolder(logsDir, labels.logsDir);
  const junit = statOf(junitPath);
  // The logs folder, once made, would turn a junit-path equal to it (or above it) into a directory.
  if (junit?.isDirectory() || logsDir === junitPath || logsDir.startsWith(junitPath + sep)) {
    throw new ConfigError(`${labels.junitPath}: ${junitPath} is a directory; expected the path of the report file to write, e.g. ${join(junitPath, 'junit.xml')}`);
  }
  const blocker = fileInTheWay(dirname(junitPath));
  if (blocker) throw new ConfigError(`${labels.junitPath}: cannot write ${junitPath}: ${blocker} is a file, not a directory`);
  makeFolder(logsDir, labels.logsDir);
  makeFolder(dirname(junitPath), labels.junitPath);
  if (junit) {
    try {
      accessSync(junitPath, constants.W_OK);
    } catch {
      throw new ConfigError(`${labels.junitPath}: ${junitPath} exists and is not writable`);
    }
  }
}
