// `host`: run a program on the runner (the machine running the harness), e.g. to check a
// backing file or a log left there. It takes an argument array, never a shell string, and runs
// with the runner's privileges like a workflow `run:` step: in the scenario file's folder,
// bounded by its deadline, after which it is killed with everything it started.
import { spawn } from 'node:child_process';
import { z } from 'zod';
import { formatDuration } from '../config/units.js';
import { ConfigError, ProductFailure } from '../errors.js';
import { shellQuote } from '../host/shell.js';
import { forgetProcess, watchProcess } from '../machine/reaper.js';
import { checkOutput } from './check.js';
import { closed, commonStepFields, got, outputChecks, outputChecksOf } from './fields.js';
import { defineStepKind, type StepBase } from './kind.js';

/** How much of each output stream a host step keeps: the end, where a failing tool says why. */
export const HOST_OUTPUT_BYTES = 64 * 1024;

export interface HostStep extends StepBase {
  kind: 'host';
  /** The program and its arguments, each passed to it exactly as written. */
  argv: [string, ...string[]];
  expect?: RegExp;
  expectNot?: RegExp;
  /** Where it runs: the scenario file's folder; absent, the harness's working directory. */
  cwd?: string;
}

/** The end of a stream, at most `max` bytes of it. */
class OutputTail {
  private chunks: Buffer[] = [];
  private bytes = 0;
  private dropped = false;

  constructor(private readonly max: number) {}

  push(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.bytes += chunk.length;
    while (this.chunks.length > 1 && this.bytes - this.chunks[0]!.length >= this.max) {
      this.bytes -= this.chunks.shift()!.length;
      this.dropped = true;
    }
  }

  /** Whether anything before the kept end was dropped. */
  get cut(): boolean {
    return this.dropped || this.bytes > this.max;
  }

  text(): string {
    const all = Buffer.concat(this.chunks);
    return all.subarray(Math.max(0, all.length - this.max)).toString('utf8');
  }
}

export interface RunnerCommandResult {
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** Whether either stream was longer than what was kept. */
  cut: boolean;
  /** The deadline passed and the command was killed. */
  timedOut: boolean;
}

/**
 * The environment a workflow `run:` step has: the action's own inputs (INPUT_*, which may
 * hold repository URLs with credentials) and the tokens the runner gives actions only
 * (ACTIONS_RUNTIME_TOKEN, ACTIONS_ID_TOKEN_REQUEST_TOKEN, …) stay with the harness.
 */
function runStepEnvironment(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([name]) => !/^(INPUT|ACTIONS)_/.test(name)));
}

/**
 * Runs `argv` on the runner as the leader of its own process group, so that at the deadline,
 * and once it has exited, the group is killed: nothing it started outlives the step.
 * Rejects only when the program cannot be started.
 */
export function runOnRunner(
  argv: readonly [string, ...string[]],
  opts: { cwd?: string; timeoutMs: number; maxBytes?: number },
): Promise<RunnerCommandResult> {
  const max = opts.maxBytes ?? HOST_OUTPUT_BYTES;
  return new Promise((resolve, reject) => {
    const [program, ...args] = argv;
    const child = spawn(program, args, { cwd: opts.cwd, env: runStepEnvironment(), stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    // A harness stopped by SIGINT/SIGTERM takes the command with it.
    watchProcess(child);
    const stdout = new OutputTail(max);
    const stderr = new OutputTail(max);
    child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
    let exited = false;
    let timedOut = false;
    let settled = false;
    const killGroup = () => {
      if (child.pid === undefined) return;
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        // The group is gone already.
      }
    };
    const timer = setTimeout(() => {
      timedOut = !exited;
      killGroup();
      // A process that left the group (setsid) may still hold the pipes: stop reading them.
      child.stdout.destroy();
      child.stderr.destroy();
    }, opts.timeoutMs);
    child.once('error', (error) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      forgetProcess(child);
      killGroup();
      reject(error);
    });
    // What it left running in the background would hold its output open, and the step would wait for it.
    child.once('exit', () => {
      exited = true;
      killGroup();
    });
    child.once('close', (exitCode, signal) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve({ exitCode, signal, stdout: stdout.text(), stderr: stderr.text(), cut: stdout.cut || stderr.cut, timedOut });
    });
  });
}

/** The command as one shell line, for titles and messages (and to paste into a shell). */
function commandLine(argv: readonly string[]): string {
  return argv.map((word) => (/^[A-Za-z0-9_@%+=:,./-]+$/.test(word) ? word : shellQuote(word))).join(' ');
}

// YAML reads 5, true or null as no string, and a number's spelling is lost (1.50 is 1.5), so
// such an argument is refused rather than turned back into a string that may differ.
const argument = z.string({
  error: (issue) =>
    ['number', 'boolean'].includes(typeof issue.input) || issue.input === null
      ? `expected a string, got ${got(issue.input)}: put it in quotes ("${String(issue.input)}")`
      : `expected a string, got ${Array.isArray(issue.input) ? 'a list' : typeof issue.input === 'object' ? 'a map' : got(issue.input)}`,
});

export const hostStep = defineStepKind({
  name: 'host',
  schema: closed({
    run: z
      .array(argument, {
        error: (issue) => `expected a list of the program and its arguments, like [ls, -l] (no shell; for one, write [sh, -c, "…"]), got ${got(issue.input)}`,
      })
      .min(1, 'expected the program to run and its arguments, like [ls, -l]')
      .superRefine((words, ctx) => {
        if (words[0] === '') ctx.addIssue({ code: 'custom', path: [0], message: 'expected a program to run, got ""' });
        // A NUL cannot be passed to a program: the kernel would end the argument there.
        words.forEach((w, i) => {
          if (w.includes('\0')) ctx.addIssue({ code: 'custom', path: [i], message: 'an argument cannot hold a NUL character' });
        });
      })
      .meta({
        description:
          "The program to run on the runner and its arguments, each passed as written: no shell reads them (for one, write [sh, -c, '…']). It runs in the scenario file's folder, with the runner's privileges.",
      }),
    ...outputChecks,
    ...commonStepFields,
  }),
  parse(s, at): HostStep {
    // The schema takes no empty list.
    const argv = s.run as [string, ...string[]];
    return {
      kind: 'host',
      argv,
      ...outputChecksOf(s),
      ...(at.dir !== undefined ? { cwd: at.dir } : {}),
      timeoutMs: at.timeoutMs(s.timeout),
      where: at.where,
      title: s.title ?? `runner: ${commandLine(argv)}`,
    };
  },
  async run(step) {
    const shown = commandLine(step.argv);
    const r = await runOnRunner(step.argv, { ...(step.cwd !== undefined ? { cwd: step.cwd } : {}), timeoutMs: step.timeoutMs }).catch((e: NodeJS.ErrnoException) => {
      const why = e.code === 'ENOENT' ? 'no such program' : e.code === 'EACCES' ? 'permission denied' : e.message;
      throw new ConfigError(`run: cannot start ${step.argv[0]} on the runner${step.cwd ? ` (in ${step.cwd})` : ''}: ${why}`, step.where);
    });
    const ended = r.timedOut ? 'killed at its deadline' : r.signal ? `killed by ${r.signal}` : `exit status ${r.exitCode}`;
    const excerpt = `runner$ ${shown}\n${r.cut ? `(only the last ${HOST_OUTPUT_BYTES / 1024} KiB of each stream is kept)\n` : ''}${r.stdout}${r.stderr ? `\n[stderr]\n${r.stderr}` : ''}\n(${ended})`;
    if (r.timedOut) {
      throw new ProductFailure(`\`${shown}\` on the runner did not finish within ${formatDuration(step.timeoutMs)}; it was killed with its process group`, { consoleTail: excerpt });
    }
    checkOutput(r.stdout, step, excerpt);
    if (r.exitCode !== 0) {
      throw new ProductFailure(`\`${shown}\` on the runner ${r.signal ? `was killed by ${r.signal}` : `exited with status ${r.exitCode}`}`, { consoleTail: excerpt });
    }
    return { excerpt };
  },
  changesSystem: false,
  needs: [],
});
