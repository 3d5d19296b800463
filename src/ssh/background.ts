// A long-lived process in dom0 (the backend QEMU) on its own channel, its stdout and stderr
// streamed into a host log file as they come.
//
// Stopping it does not use SSH channel signals: dropbear would deliver them to the shell
// that runs the command, not to the process or its children. Instead the command runs as
// the leader of a new session (`setsid`), which reports its pid on stderr before it execs
// the command; that pid is also the process group of everything the command starts.
// stop() runs one more exec, a small script that sends SIGTERM to the group, watches
// /proc until no live member is left, and sends SIGKILL once the grace is over: one round
// trip (they cost 1-2 s on a TCG dom0), and children that ignore SIGTERM die too. The
// first shell stays to `wait`, so the channel's exit status is the command's (128+N
// after signal N).
import { once } from 'node:events';
import { createWriteStream, type WriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { constants } from 'node:os';
import { dirname } from 'node:path';
import { performance } from 'node:perf_hooks';
import { StringDecoder } from 'node:string_decoder';
import type { ClientChannel } from 'ssh2';
import { shellQuote } from '../host/shell.js';
import { Deadline } from '../deadline.js';
import { InfraError, ProductFailure } from '../errors.js';
import type { CommandHost, ExecOptions, ExecResult } from './command.js';

export interface BackgroundOptions {
  /** Host file that receives the process's stdout and stderr, raw, as they arrive. */
  logFile: string;
  /** Until when the process must have started (reported its pid). */
  deadline?: Deadline | number;
}

export interface BackgroundExit {
  /** The command's exit status; 128+N when signal N ended it. null when `lost`. */
  exitCode: number | null;
  /** Set only when dom0 reports the waiting shell itself was signalled. */
  signal: string | null;
  /** stop() or close() asked for the end: not a death. */
  stopped: boolean;
  /** The connection ended before dom0 reported a status; the process may still run. */
  lost: boolean;
  durationMs: number;
}

/** What the background needs from its connection: a channel, and execs for kill. */
export interface BackgroundHost extends CommandHost {
  exec(command: string, opts: ExecOptions): Promise<ExecResult>;
}

export type DeathListener = (error: ProductFailure | InfraError, exit: BackgroundExit) => void;

export const BACKGROUND_DEFAULTS = {
  startMs: 30_000,
  /** How long SIGTERM gets before SIGKILL, at most. */
  graceMs: 5_000,
  tailLines: 40,
} as const;

const PID_MARKER = 'xen-pvh-virtio-pid:';
// Lines kept for waitForLine: a QEMU with trace events prints thousands before it serves.
const KEPT_LINES = 20_000;
const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
// Enough for 40 long lines of QEMU's complaints; older bytes are only in the log file.
const TAIL_BYTES = 64 * 1024;

/** The dom0 shell line that runs `command` as a session leader and waits for it. */
export function backgroundScript(command: string): string {
  return (
    `setsid sh -c 'echo "${PID_MARKER}$$" >&2; exec sh -c "$1"' xen-pvh-virtio-bg ${shellQuote(command)}` +
    ' </dev/null & wait $!'
  );
}

/**
 * The dom0 script that ends the process group led by `pid`: SIGTERM, then SIGKILL after
 * `graceMs`, returning once no member is alive. Zombies do not count (`kill -0` would):
 * orphans wait for dom0's init to reap them. Busybox ash and dash both run it.
 */
export function stopGroupScript(pid: number, graceMs: number): string {
  const graceTicks = Math.max(0, Math.ceil(graceMs / 100));
  return [
    `pg=${pid}`,
    'live() { for f in /proc/[0-9]*/stat; do read -r l 2>/dev/null <"$f" || continue; ' +
      'set -- ${l##*) }; [ "$3" = "$pg" ] && [ "$1" != Z ] && return 0; done; return 1; }',
    'kill -TERM -$pg 2>/dev/null',
    'i=0',
    `while live; do [ $i -eq ${graceTicks} ] && kill -KILL -$pg 2>/dev/null; i=$((i+1)); sleep 0.1; done`,
    'echo stopped',
  ].join('\n');
}

/** "exited with status 1", or for 128+N "exited with status 143 (SIGTERM)". */
export function describeExit(exit: BackgroundExit): string {
  if (exit.lost) return 'was lost with the connection to dom0 (its state is unknown)';
  if (exit.signal) return `was killed by ${exit.signal}`;
  const code = exit.exitCode ?? -1;
  const byNumber = Object.entries(constants.signals).find(([, n]) => n === code - 128)?.[0];
  return `exited with status ${code}${code > 128 && byNumber ? ` (${byNumber})` : ''}`;
}

export async function startBackground(
  host: BackgroundHost,
  name: string,
  command: string,
  opts: BackgroundOptions,
): Promise<BackgroundProcess> {
  if (!NAME.test(name)) {
    throw new InfraError(`background process name ${JSON.stringify(name)} must be letters, digits, '.', '_' or '-'`);
  }
  const deadline = Deadline.from(opts.deadline ?? BACKGROUND_DEFAULTS.startMs);
  const label = `background process ${name} (\`${command}\`)`;
  // Checked before the log is touched, so a dead connection leaves no empty log behind.
  host.client(command);

  let log: WriteStream;
  try {
    await mkdir(dirname(opts.logFile), { recursive: true });
    log = createWriteStream(opts.logFile, { flags: 'w' });
    await once(log, 'open');
  } catch (cause) {
    throw new InfraError(`cannot open the log of ${label} at ${opts.logFile}: ${(cause as Error).message}`, {
      cause,
      logFile: opts.logFile,
    });
  }

  const proc = new BackgroundProcess(host, name, command, opts.logFile, log);
  return new Promise<BackgroundProcess>((resolve, reject) => {
    const startFailed = (cause: unknown): InfraError =>
      new InfraError(`cannot start ${label} in dom0: ${(cause as Error).message}`, { cause, logFile: opts.logFile });
    let settled = false;
    const finish = (error?: InfraError): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      unsubscribe();
      if (error) {
        proc.abandon();
        reject(error);
      } else {
        resolve(proc);
      }
    };
    const timer = setTimeout(
      () => finish(new InfraError(`${label} did not report its pid within the deadline${proc.tailSuffix()}`, { logFile: opts.logFile })),
      deadline.remainingMs(),
    );
    const unsubscribe = host.onDrop((why) =>
      finish(new InfraError(`connection to dom0 ${why} while starting ${label}`, { logFile: opts.logFile })),
    );

    try {
      // ssh2 throws rather than calls back when the socket died a moment ago.
      host.client(command).exec(backgroundScript(command), (err, channel) => {
        if (settled) {
          channel?.close();
          return;
        }
        if (err) {
          finish(startFailed(err));
          return;
        }
        proc.attach(channel, {
          started: () => finish(),
          endedBeforeStart: (exit) =>
            finish(new InfraError(`${label} ${describeExit(exit)} before it started${proc.tailSuffix()}`, { logFile: opts.logFile })),
        });
      });
    } catch (err) {
      finish(err instanceof InfraError ? err : startFailed(err));
    }
  });
}

/**
 * The protocol scenario steps use: `exited`, `onDeath`, `waitForLine`, `tail`, `stop`.
 * Members marked internal belong to the driver (Dom0Ssh, startBackground).
 */
export class BackgroundProcess {
  /** Resolves once the process is gone and every byte it printed is in the log file; never rejects. */
  readonly exited: Promise<BackgroundExit>;

  private resolveExited!: (exit: BackgroundExit) => void;
  private result: BackgroundExit | undefined;
  private channel: ClientChannel | undefined;
  private stopRequested = false;
  private readonly deathListeners = new Set<DeathListener>();
  private death: { error: ProductFailure | InfraError; exit: BackgroundExit } | undefined;
  private readonly stderrTail = new Tail();
  private readonly outputTail = new Tail();
  private startedAt = performance.now();
  private exitCode: number | null = null;
  private exitSignal: string | null = null;
  private sawExit = false;
  private leaderPid = 0;
  private readonly lines = new LineLog();
  private readonly stdoutLines = new StringDecoder('utf8');
  private readonly stderrLines = new StringDecoder('utf8');
  private stdoutPartial = '';
  private stderrPartial = '';
  private readonly lineWaiters = new Set<LineWaiter>();

  constructor(
    private readonly host: BackgroundHost,
    readonly name: string,
    readonly command: string,
    readonly logFile: string,
    private readonly log: WriteStream,
  ) {
    this.exited = new Promise((resolve) => (this.resolveExited = resolve));
    // A full disk must not crash the run; the tail in memory still tells the story.
    log.on('error', () => {});
  }

  /** dom0 pid of the session leader, which is also the process group that stop() kills. */
  get pid(): number {
    return this.leaderPid;
  }

  get running(): boolean {
    return this.result === undefined;
  }

  /** The last lines the process wrote to stderr (or to stdout when stderr is empty). */
  tail(lines: number = BACKGROUND_DEFAULTS.tailLines): string {
    return (this.stderrTail.lines(lines) || this.outputTail.lines(lines)).trimEnd();
  }

  /** @internal `:` and the tail on the next lines, for messages; empty when nothing was printed. */
  tailSuffix(): string {
    const tail = this.tail();
    return tail ? `:\n${tail}` : '';
  }

  /**
   * Calls `listener` once if the process ends without stop() or close() asking: with a
   * ProductFailure carrying its stderr tail, or an InfraError when the connection was
   * lost. A death before subscribing is reported too. Returns the unsubscribe.
   */
  onDeath(listener: DeathListener): () => void {
    if (this.death) {
      const { error, exit } = this.death;
      queueMicrotask(() => listener(error, exit));
      return () => {};
    }
    this.deathListeners.add(listener);
    return () => this.deathListeners.delete(listener);
  }

  /**
   * The first output line (stdout or stderr, CR stripped) matching `pattern`, already
   * printed or still to come: how a step waits for a backend to say it serves. Rejects
   * with a ProductFailure carrying the tail when the deadline passes or the process ends
   * first (an InfraError when its connection was lost).
   */
  waitForLine(wanted: RegExp, deadline: Deadline | number): Promise<string> {
    // A /g or /y pattern would carry lastIndex from one line to the next.
    const pattern = wanted.global || wanted.sticky ? new RegExp(wanted.source, wanted.flags.replace(/[gy]/g, '')) : wanted;
    const seen = this.lines.find(pattern);
    if (seen !== undefined) return Promise.resolve(seen);
    const until = Deadline.from(deadline);
    const started = performance.now();
    const awaited = `${this.name}: waiting for a line matching ${String(pattern)}`;
    return new Promise<string>((resolve, reject) => {
      const waiter: LineWaiter = {
        pattern,
        matched: (line) => {
          settle();
          resolve(line);
        },
        ended: (exit) => {
          settle();
          const how = `${awaited}: the process ${describeExit(exit)} first${this.tailSuffix()}`;
          reject(exit.lost ? new InfraError(how, { logFile: this.logFile }) : new ProductFailure(how, { logFile: this.logFile }));
        },
      };
      const settle = (): void => {
        clearTimeout(timer);
        this.lineWaiters.delete(waiter);
      };
      const timer = setTimeout(() => {
        settle();
        const waited = ((performance.now() - started) / 1000).toFixed(1);
        reject(new ProductFailure(`${awaited}: deadline passed after ${waited} s${this.tailSuffix()}`, { logFile: this.logFile }));
      }, until.remainingMs());
      if (this.result) waiter.ended(this.result);
      else this.lineWaiters.add(waiter);
    });
  }

  /**
   * SIGTERM to the whole process group, SIGKILL after `graceMs`, by pid over an exec;
   * resolves once every member is gone and `exited` has settled. Not a death.
   */
  async stop(deadline: Deadline | number, graceMs: number = BACKGROUND_DEFAULTS.graceMs): Promise<BackgroundExit> {
    if (this.result) return this.exited;
    this.stopRequested = true;
    const until = Deadline.from(deadline);
    const stuck = (cause?: unknown): InfraError =>
      new InfraError(`${this.name} (process group ${this.pid}) in dom0 did not end in time after SIGTERM and SIGKILL`, {
        cause,
        logFile: this.logFile,
      });
    try {
      await this.host.exec(stopGroupScript(this.pid, graceMs), { deadline: until });
    } catch (err) {
      // A connection that dropped meanwhile has settled `exited` as lost: that is the answer.
      if (this.result) return this.exited;
      throw stuck(err);
    }
    if (!(await settlesWithin(this.exited, until.remainingMs()))) throw stuck();
    return this.exited;
  }

  /** @internal Marks the end as asked for, so close() tearing the connection down is no death. */
  expectEnd(): void {
    this.stopRequested = true;
  }

  /** @internal Closes the channel and the log without waiting for dom0: teardown, failed starts. */
  abandon(): void {
    this.stopRequested = true;
    this.channel?.close();
    if (!this.result) void this.finalize(true);
  }

  /** @internal Wires the channel: pid marker, output into log and tails, exit into `exited`. */
  attach(channel: ClientChannel, start: { started: () => void; endedBeforeStart: (exit: BackgroundExit) => void }): void {
    this.channel = channel;
    this.startedAt = performance.now();
    let pending = '';
    const takeMarker = (chunk: Buffer): Buffer => {
      if (this.leaderPid !== 0) return chunk;
      // Lines before the marker (none expected) are output like any other.
      pending += chunk.toString('latin1');
      for (;;) {
        const end = pending.indexOf('\n');
        if (end < 0) return Buffer.alloc(0);
        const line = pending.slice(0, end);
        pending = pending.slice(end + 1);
        const pid = line.startsWith(PID_MARKER) ? Number(line.slice(PID_MARKER.length)) : NaN;
        if (Number.isInteger(pid) && pid > 0) {
          this.leaderPid = pid;
          start.started();
          const rest = Buffer.from(pending, 'latin1');
          pending = '';
          return rest;
        }
        this.record(Buffer.from(`${line}\n`, 'latin1'), true);
      }
    };

    channel.on('data', (chunk: Buffer) => this.record(chunk, false));
    channel.stderr.on('data', (chunk: Buffer) => {
      const rest = takeMarker(chunk);
      if (rest.length > 0) this.record(rest, true);
    });
    channel.on('exit', (code: number | null, signal?: string) => {
      this.sawExit = true;
      this.exitCode = code;
      this.exitSignal = signal ?? null;
    });
    channel.on('close', () => {
      if (pending) this.record(Buffer.from(pending, 'latin1'), true);
      void this.finalize(!this.sawExit).then((exit) => {
        if (this.leaderPid === 0) start.endedBeforeStart(exit);
      });
    });
  }

  private record(chunk: Buffer, fromStderr: boolean): void {
    this.log.write(chunk);
    this.outputTail.push(chunk);
    if (fromStderr) this.stderrTail.push(chunk);
    // Each stream is split on its own, so an interleaving cannot glue two half lines.
    if (fromStderr) this.stderrPartial = this.takeLines(this.stderrPartial + this.stderrLines.write(chunk));
    else this.stdoutPartial = this.takeLines(this.stdoutPartial + this.stdoutLines.write(chunk));
  }

  /** Keeps and matches every complete line of `text`; returns the unfinished rest. */
  private takeLines(text: string): string {
    const parts = text.split('\n');
    const rest = parts.pop() ?? '';
    for (const raw of parts) this.addLine(raw);
    return rest;
  }

  private addLine(raw: string): void {
    const line = raw.replace(/\r/g, '');
    this.lines.push(line);
    for (const waiter of [...this.lineWaiters]) {
      if (waiter.pattern.test(line)) waiter.matched(line);
    }
  }

  private async finalize(lost: boolean): Promise<BackgroundExit> {
    if (this.result) return this.result;
    const exit: BackgroundExit = {
      exitCode: lost ? null : this.exitCode,
      signal: lost ? null : this.exitSignal,
      stopped: this.stopRequested,
      lost,
      durationMs: Math.round(performance.now() - this.startedAt),
    };
    this.result = exit;
    for (const rest of [this.stdoutPartial + this.stdoutLines.end(), this.stderrPartial + this.stderrLines.end()]) {
      if (rest) this.addLine(rest);
    }
    this.stdoutPartial = this.stderrPartial = '';
    for (const waiter of [...this.lineWaiters]) waiter.ended(exit);
    // `exited` promises the whole output is on disk, so the log is closed first.
    if (!this.log.closed && !this.log.destroyed) {
      await new Promise<void>((resolve) => {
        this.log.once('close', resolve);
        this.log.once('error', () => resolve());
        this.log.end();
      });
    }
    this.resolveExited(exit);
    if (!exit.stopped && this.leaderPid !== 0) this.reportDeath(exit);
    return exit;
  }

  private reportDeath(exit: BackgroundExit): void {
    const error = exit.lost
      ? new InfraError(`${this.name} ${describeExit(exit)}`, { logFile: this.logFile })
      : new ProductFailure(`${this.name} ${describeExit(exit)}${this.tailSuffix()}`, { logFile: this.logFile });
    this.death = { error, exit };
    const listeners = [...this.deathListeners];
    this.deathListeners.clear();
    for (const listener of listeners) listener(error, exit);
  }
}

/** Whether `promise` settles within `ms`; the timer never outlives the answer. */
export async function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
  try {
    return await Promise.race([promise.then(() => true as const), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

interface LineWaiter {
  pattern: RegExp;
  matched(line: string): void;
  ended(exit: BackgroundExit): void;
}

/** The last KEPT_LINES lines, searchable in order. */
class LineLog {
  private kept: string[] = [];

  push(line: string): void {
    this.kept.push(line);
    // Trimmed in batches so a long run does not shift the array on every line.
    if (this.kept.length > KEPT_LINES * 1.25) this.kept = this.kept.slice(-KEPT_LINES);
  }

  find(pattern: RegExp): string | undefined {
    return this.kept.find((line) => pattern.test(line));
  }
}

/** The last TAIL_BYTES of a stream, read back as its last lines without CRs. */
class Tail {
  private chunks: Buffer[] = [];
  private size = 0;

  push(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.size += chunk.length;
    while (this.size - (this.chunks[0]?.length ?? 0) >= TAIL_BYTES && this.chunks.length > 1) {
      this.size -= this.chunks.shift()!.length;
    }
  }

  lines(n: number): string {
    const text = Buffer.concat(this.chunks).toString('utf8').replace(/\r/g, '');
    return text.trimEnd().split('\n').slice(-n).join('\n');
  }
}
