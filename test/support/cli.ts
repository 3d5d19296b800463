// Runs the committed CLI (dist/cli.js) as a child process, the way users and CI run it.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

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
}

// Each run's logs hold copies of its boot media (tens of MB): gone when the test file ends.
const made: string[] = [];
process.once('exit', () => {
  for (const dir of made) rmSync(dir, { recursive: true, force: true });
});

export function startCli(args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): CliRun {
  const dir = mkdtempSync(join(tmpdir(), 'xpv-run-'));
  made.push(dir);
  const junitPath = join(dir, 'junit.xml');
  const logsDir = join(dir, 'logs');
  // A free port unless the test asks for a particular one.
  const port = args.includes('--ssh-port') ? [] : ['--ssh-port', '0'];
  const child = spawn(process.execPath, [join(ROOT, 'dist/cli.js'), ...args, '--junit-path', junitPath, '--logs-dir', logsDir, ...port], {
    cwd: opts.cwd ?? ROOT,
    env: { ...process.env, ...opts.env },
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
  return { child, dir, junitPath, logsDir, stderr: () => err, done, waitFor };
}

export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
