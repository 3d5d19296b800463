// The real step: this very CLI run as a child (`node <cli> run … --<component>-path <checkout>`),
// an argument array and never a shell, in a process group of its own so that a stop reaches
// everything it started (builds, QEMU). Its output goes to `<step dir>/cli.log` as it comes.
import { spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync, readSync, statSync, writeSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { InfraError } from '../errors.js';
import { RESULT_FILE } from '../report/result-file.js';
import { redactCredentials } from '../secrets.js';
import type { StepRequest, StepRunner } from './driver.js';
import { stepArgs, stepOptions, type BisectRequest } from './request.js';
import { classifyStep } from './step-outcome.js';

export interface StepCli {
  /** The Node binary (process.execPath). */
  node: string;
  /** The CLI's script (dist/cli.js, as this process was started with). */
  script: string;
}

export interface ChildStepOptions {
  cli: StepCli;
  env: NodeJS.ProcessEnv;
  cwd: string;
  /** After a stop, how long the run gets to end itself (it stops its machine, writes its reports) before its group is killed. */
  graceMs?: number;
}

/** The last 64 KiB of a file: where a run prints how it ended. */
function tail(file: string): string {
  if (!existsSync(file)) return '';
  const size = statSync(file).size;
  const length = Math.min(size, 64 * 1024);
  const buf = Buffer.alloc(length);
  const fd = openSync(file, 'r');
  try {
    return buf.subarray(0, readSync(fd, buf, 0, length, size - length)).toString('utf8');
  } finally {
    closeSync(fd);
  }
}

/** Signals a whole process group; one that is already gone is no error. */
function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // Nothing left in the group.
  }
}

/** The environment a step's run gets: ours, less what would let it write this job's summary or outputs. */
function childEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const out = { ...env };
  delete out.GITHUB_STEP_SUMMARY;
  delete out.GITHUB_OUTPUT;
  return out;
}

/** Runs one step's child to its end (or to the stop); resolves with how it ended. */
async function runChild(req: BisectRequest, step: StepRequest, opts: ChildStepOptions, log: string): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  const args = [opts.cli.script, ...stepArgs(stepOptions(req, step.worktree, step.dir))];
  const fd = openSync(log, 'w');
  let child;
  try {
    writeSync(fd, redactCredentials(`$ ${[opts.cli.node, ...args].map((a) => (/^[\w./=:@%+,-]+$/.test(a) ? a : `'${a.replaceAll("'", "'\\''")}'`)).join(' ')}\n`));
    // detached: a group of its own, which a stop kills whole, and which a terminal's ^C does not reach behind our back.
    child = spawn(opts.cli.node, args, { cwd: opts.cwd, env: childEnv(opts.env), detached: true, stdio: ['ignore', fd, fd] });
  } finally {
    closeSync(fd);
  }
  const pid = child.pid;
  let timer: NodeJS.Timeout | undefined;
  const stop = () => {
    if (pid === undefined) return;
    killGroup(pid, 'SIGTERM');
    timer = setTimeout(() => killGroup(pid, 'SIGKILL'), opts.graceMs ?? 30_000);
  };
  try {
    return await new Promise((res, rej) => {
      child.once('error', (e) => rej(new InfraError(`cannot start the step's run (${opts.cli.node} ${opts.cli.script}): ${e.message}`, { cause: e })));
      child.once('exit', (code, signal) => res({ code, signal }));
      if (step.signal.aborted) stop();
      else step.signal.addEventListener('abort', stop, { once: true });
    });
  } finally {
    step.signal.removeEventListener('abort', stop);
    if (timer) clearTimeout(timer);
    // Whatever the run left behind in its group (a QEMU holding the SSH port) would spoil the next step.
    if (pid !== undefined) killGroup(pid, 'SIGKILL');
  }
}

/** The step runner the CLI uses: a run of this CLI per commit, its verdict from its exit code and result.json. */
export function childStepRunner(req: BisectRequest, opts: ChildStepOptions): StepRunner {
  return async (step) => {
    // A folder of an earlier bisection with the same logs-dir must not lend this step its result.json.
    await rm(step.dir, { recursive: true, force: true });
    await mkdir(step.dir, { recursive: true });
    const log = join(step.dir, 'cli.log');
    const ended = await runChild(req, step, opts, log);
    if (step.signal.aborted) return { verdict: 'skip', reason: 'stopped', log };
    const resultFile = join(step.dir, RESULT_FILE);
    return classifyStep({ ...ended, log, logTail: tail(log), ...(existsSync(resultFile) ? { resultText: readFileSync(resultFile, 'utf8') } : {}) });
  };
}
