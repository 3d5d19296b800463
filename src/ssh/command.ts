// One command in dom0 over its own channel: output collected, exit status reported as is
// (a non-zero exit is an answer, not an error). At the deadline the channel gets SIGKILL
// (dropbear delivers it to the shell it started) and is closed; children that shell left
// behind are not in a group we can name, so they may linger until dom0 goes down.
// Long-lived work, or work whose whole tree must die, belongs in background.ts.
// Commands get no stdin: the channel's input stays open (ending it would also end ssh2's
// ability to send the signal) and nothing is written to it.
import { performance } from 'node:perf_hooks';
import type { Client, ClientChannel } from 'ssh2';
import { Deadline } from '../deadline.js';
import { InfraError } from '../errors.js';

export interface ExecOptions {
  /** When to give up; a number is milliseconds from now. */
  deadline: Deadline | number;
}

export interface ExecResult {
  /** null when the command was ended by a signal (then `signal` names it). */
  exitCode: number | null;
  /** e.g. `SIGTERM`, as dom0 reported it. */
  signal: string | null;
  stdout: string;
  stderr: string;
  durationMs: number;
  /** Where the time went: asking for the channel until dom0 started the command, the command until its exit status, the status until the channel closed. */
  timing: { openMs: number; runMs: number; closeMs: number };
}

/**
 * How long to wait for the channel to close after the exit status came. Dropbear sends
 * the status when the shell exits but closes the channel only when every holder of its
 * output has let go: a command that left a child behind (`daemon &`) would hang here.
 */
const DRAIN_AFTER_EXIT_MS = 2_000;

/** A command that could not start, outlived its deadline or lost its connection. */
export class Dom0CommandError extends InfraError {
  override name = 'Dom0CommandError';
  constructor(
    message: string,
    readonly command: string,
    readonly why: 'start' | 'deadline' | 'dropped',
    readonly stdout: string,
    readonly stderr: string,
    cause?: unknown,
  ) {
    super(message, { cause });
  }
}

/** How much of a failed command's output its error message carries. */
const OUTPUT_IN_MESSAGE_LINES = 40;

/** The Dom0Ssh side of a command: where drops are announced while it runs. */
export interface CommandHost {
  /** The live client, or an InfraError naming `command` when the connection is gone. */
  client(command: string): Client;
  /** Subscribes to the connection's end; returns the unsubscribe. */
  onDrop(listener: (why: string) => void): () => void;
}

export function execCommand(host: CommandHost, command: string, opts: ExecOptions): Promise<ExecResult> {
  const deadline = Deadline.from(opts.deadline);
  const started = performance.now();

  return new Promise<ExecResult>((resolve, reject) => {
    // Inside the executor, so a dead connection is a rejection like every other failure.
    const client = host.client(command);
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    let channel: ClientChannel | undefined;
    let exitCode: number | null = null;
    let signal: string | null = null;
    let sawExit = false;
    let settled = false;
    let drain: NodeJS.Timeout | undefined;
    let opened: number | undefined;
    let exited: number | undefined;

    const elapsed = (): number => Math.round(performance.now() - started);
    const output = (): { stdout: string; stderr: string } => ({
      stdout: Buffer.concat(stdout).toString('utf8'),
      stderr: Buffer.concat(stderr).toString('utf8'),
    });
    const done = (): ExecResult => {
      const now = performance.now();
      const open = opened ?? now;
      const exit = exited ?? now;
      return { exitCode, signal, ...output(), durationMs: elapsed(), timing: { openMs: open - started, runMs: exit - open, closeMs: now - exit } };
    };
    const fail = (why: Dom0CommandError['why'], message: string, cause?: unknown): void => {
      const { stdout: out, stderr: err } = output();
      finish(new Dom0CommandError(`${message}${soFar(out, err)}`, command, why, out, err, cause));
    };
    const finish = (outcome: ExecResult | InfraError): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      clearTimeout(drain);
      unsubscribe();
      channel?.close();
      if (outcome instanceof InfraError) reject(outcome);
      else resolve(outcome);
    };

    const timer = setTimeout(() => {
      if (!sawExit) channel?.signal('KILL');
      fail('deadline', `dom0 command \`${command}\` did not finish within ${elapsed()} ms`);
    }, deadline.remainingMs());
    const unsubscribe = host.onDrop((why) => fail('dropped', `connection to dom0 ${why} while running \`${command}\``));

    try {
      // ssh2 throws rather than calls back when the socket died a moment ago.
      client.exec(command, (err, ch) => {
        if (settled) {
          // The deadline or a drop came first; the channel is of no use any more.
          ch?.close();
          return;
        }
        if (err) {
          fail('start', `cannot start \`${command}\` in dom0: ${err.message}`, err);
          return;
        }
        channel = ch;
        opened = performance.now();
        ch.on('data', (chunk: Buffer) => stdout.push(chunk));
        ch.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
        ch.on('exit', (code: number | null, sig?: string) => {
          sawExit = true;
          exited = performance.now();
          exitCode = code;
          signal = sig ?? null;
          drain = setTimeout(() => finish(done()), DRAIN_AFTER_EXIT_MS);
        });
        ch.on('close', () => {
          if (!sawExit) {
            fail('dropped', `dom0 closed the channel of \`${command}\` without an exit status (connection dropped?)`);
            return;
          }
          finish(done());
        });
      });
    } catch (err) {
      fail('start', `cannot start \`${command}\` in dom0: ${(err as Error).message}`, err);
    }
  });
}

/** The last lines of what a command printed, for an error message. */
function soFar(stdout: string, stderr: string): string {
  const parts: string[] = [];
  const tail = (text: string): string => text.trimEnd().split('\n').slice(-OUTPUT_IN_MESSAGE_LINES).join('\n');
  if (stdout.trim()) parts.push(`stdout so far:\n${tail(stdout)}`);
  if (stderr.trim()) parts.push(`stderr so far:\n${tail(stderr)}`);
  return parts.length ? `\n${parts.join('\n')}` : ' (no output)';
}
