// Runs the committed CLI (dist/cli.js) as a child process, the way users and CI run it.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { defaultCacheDir } from '../../src/rig/cache.js';

export const ROOT = resolve(__dirname, '../..');

export interface CliRun {
  child: ChildProcess;
  dir: string;
  junitPath: string;
  logsDir: string;
  /** stderr so far (progress lines). */
  stderr(): string;
  /** Resolves with the exit code and when it came. */
  done: Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>;
  /** Resolves once stderr matches; rejects if the CLI exits first or the deadline passes. */
  waitFor(pattern: RegExp, deadlineMs: number): Promise<void>;
  /** The run's private SSH key while the run lasts: in its work dir, never in logs-dir. */
  runKey(): string;
}

function findFile(dir: string, name: string): string | undefined {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isFile() && entry.name === name) return path;
    if (entry.isDirectory()) {
      const found = findFile(path, name);
      if (found) return found;
    }
  }
  return undefined;
}

// Each run's logs hold copies of its boot media (tens of MB): gone when the test file ends.
const made: string[] = [];
process.once('exit', () => {
  for (const dir of made) rmSync(dir, { recursive: true, force: true });
});

/**
 * Runs the CLI. Runs boot cold unless `snapshot` is set: a saved booted system in the shared
 * cache would otherwise make one test's run depend on what an earlier test left there.
 */
export function startCli(args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv; snapshot?: boolean } = {}): CliRun {
  const dir = mkdtempSync(join(tmpdir(), 'xpv-run-'));
  made.push(dir);
  const junitPath = join(dir, 'junit.xml');
  const logsDir = join(dir, 'logs');
  // The run's work dir (per-run media, the run key) goes here, where the test can find it.
  const temp = join(dir, 'tmp');
  mkdirSync(temp);
  const snapshot = opts.snapshot || args.includes('--snapshot') ? [] : ['--snapshot', 'false'];
  // A free port unless the test asks for a particular one.
  const port = args.includes('--ssh-port') ? [] : ['--ssh-port', '0'];
  // Tests share one cache: no run of theirs prunes what another test is about to use.
  const budget = args.includes('--cache-max-size') ? [] : ['--cache-max-size', '0'];
  const child = spawn(process.execPath, [join(ROOT, 'dist/cli.js'), ...args, ...snapshot, '--junit-path', junitPath, '--logs-dir', logsDir, ...port, ...budget], {
    cwd: opts.cwd ?? ROOT,
    env: { ...process.env, RUNNER_TEMP: temp, ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let err = '';
  child.stderr!.on('data', (c: Buffer) => (err += c.toString()));
  child.stdout!.resume();
  const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>((res) =>
    child.once('exit', (code, signal) => res({ code, signal, at: Date.now() })),
  );
  const waitFor = (pattern: RegExp, deadlineMs: number) =>
    new Promise<void>((res, rej) => {
      const timer = setInterval(() => {
        if (pattern.test(err)) finish();
      }, 100);
      const deadline = setTimeout(() => finish(new Error(`CLI never printed ${pattern} within ${deadlineMs} ms:\n${err}`)), deadlineMs);
      void done.then(() => finish(pattern.test(err) ? undefined : new Error(`CLI exited before printing ${pattern}:\n${err}`)));
      function finish(e?: Error) {
        clearInterval(timer);
        clearTimeout(deadline);
        if (e) rej(e);
        else res();
      }
    });
  const runKey = () => {
    const key = findFile(temp, 'id_ed25519');
    if (!key) throw new Error(`no run key under ${temp}`);
    return key;
  };
  return { child, dir, junitPath, logsDir, stderr: () => err, done, waitFor, runKey };
}

export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * A cache dir of the test's own that shares the real cache's rigs, components and package
 * lists (symlinks) but keeps its own saved booted systems: what a test saves or breaks there
 * touches no other test.
 */
export function isolatedCache(): string {
  const real = defaultCacheDir();
  const dir = mkdtempSync(join(tmpdir(), 'xpv-cache-'));
  made.push(dir);
  for (const name of readdirSync(real)) if (name !== 'states') symlinkSync(join(real, name), join(dir, name));
  return dir;
}
