// The one reader of Xen's serial byte stream. Receives the connected serial socket (from
// machine/), splits and demultiplexes it into per-domain line streams written to logDir, and
// offers scenario steps a small protocol: expect, run, focus, waitForShell, tail, close.
//
// This class only composes the parts and owns the socket's lifecycle: reader.ts turns bytes
// into attributed lines, lines.ts keeps them, logs.ts writes them, waiters.ts waits for them,
// fatal-watch.ts and warnings.ts watch them, typist.ts types, shells.ts drives the shells.
import { performance } from 'node:perf_hooks';
import type { Duplex } from 'node:stream';
import { Deadline } from '../deadline.js';
import type { Focus, SourceId } from './demux.js';
import { ConsoleClosed, type ConsoleFatal } from './errors.js';
import { FATAL_PATTERNS, type FatalPattern } from './fatal.js';
import { FatalWatch } from './fatal-watch.js';
import { LineStore, type Evidence, type Line } from './lines.js';
import { ConsoleLogs } from './logs.js';
import { DomainNames, type DomainRef } from './names.js';
import { SerialReader } from './reader.js';
import { Shells, type ConsoleRun, type ShellReady } from './shells.js';
import { checkedPacing, DEFAULT_PACING, Typist, type Pacing } from './typist.js';
import { Waiters } from './waiters.js';
import { WarningWatch, type SeenWarning } from './warnings.js';

export interface ConsoleOptions {
  /** Per-domain clean logs (`console-<domain>.log`) and the combined `console-all.log` go here. */
  logDir: string;
  /** Where the exact bytes go; false when machine/ already keeps them. Default logDir/console-raw.log. */
  rawLog?: string | false;
  /** Scenario names for domids (`domU1` → 1), for resolving names and naming logs. */
  domains?: readonly { name: string; domid: number }[];
  pacing?: Pacing;
  /** What ends a typed line. `\n` works for ash's raw mode and for canonical-mode getty alike. */
  newline?: string;
  /** How long one CTRL-a ×3 may take to produce its banner (0.1 s measured; minutes of TCG load happen). */
  focusStepMs?: number;
  /** How long the echo of a typed chunk may stand still, short of what was typed, before the line counts as garbled. */
  echoQuietMs?: number;
  /** After a fatal line, how long to keep collecting (the call trace) before rejecting waits; < 1 s. */
  fatalGraceMs?: number;
  fatalPatterns?: readonly FatalPattern[];
  /** Attaching to a machine that already booted: dom0 holds input and the console is handed over. */
  startedAfterBoot?: boolean;
  tailLines?: number;
  /** Lines kept in memory per domain; older ones stay in the log files only. */
  historyLimit?: number;
}

export interface ExpectOptions {
  /** Also match a line still being received (a prompt without newline). */
  partial?: boolean;
  /** Ignore lines that arrived before the call; by default unconsumed history is searched first. */
  fromNow?: boolean;
}

export class Console {
  private readonly t0 = performance.now();
  private readonly names: DomainNames;
  private readonly reader: SerialReader;
  private readonly logs: ConsoleLogs;
  private readonly store: LineStore;
  private readonly waiters: Waiters;
  private readonly fatal: FatalWatch;
  private readonly warningWatch: WarningWatch;
  private readonly typist: Typist;
  private readonly shells: Shells;
  /** The tail and log file a failure about a domain (or all of them) shows. */
  private readonly evidence: Evidence;
  private readonly detach: () => void;
  private ended?: { reason: string; cause?: unknown };

  constructor(
    private readonly stream: Duplex,
    opts: ConsoleOptions,
  ) {
    // Checked before anything is created on disk: a bad configuration leaves no trace.
    const pacing = checkedPacing(opts.pacing ?? DEFAULT_PACING);
    this.names = new DomainNames(opts.domains);
    this.reader = new SerialReader(opts.startedAfterBoot ?? false);
    this.logs = new ConsoleLogs(opts.logDir, this.names, () => this.now(), opts.rawLog);
    this.store = new LineStore(this.names, { historyLimit: opts.historyLimit ?? 50_000, tailLines: opts.tailLines ?? 40 });
    // Subscribed first, so the logs have every line before any caller's listener runs.
    this.store.subscribe((line) => this.logs.line(line));
    this.evidence = (of) => ({ consoleTail: this.store.tail(of), logFile: this.logs.fileOf(of) });
    const guard = (domain: SourceId | undefined, awaited: string) => this.guard(domain, awaited);
    const { names, reader, store, logs, evidence } = this;
    this.waiters = new Waiters({ store, names, evidence, lastSeq: () => reader.lastSeq, guard });
    this.fatal = new FatalWatch({
      patterns: opts.fatalPatterns ?? FATAL_PATTERNS,
      graceMs: Math.min(opts.fatalGraceMs ?? 300, 900),
      names,
      evidence,
      cutShort: () => this.waiters.fail((w) => this.fatal.errorFor(w.domain, w.awaited, w.since)),
    });
    this.warningWatch = new WarningWatch((source) => names.display(source));
    this.typist = new Typist(
      { serial: stream, reader, store, logs, names, evidence, guard },
      { pacing, newline: opts.newline ?? '\n', echoQuietMs: opts.echoQuietMs ?? 3000 },
    );
    this.shells = new Shells({ reader, store, waiters: this.waiters, typist: this.typist, names, evidence }, opts.focusStepMs ?? 10_000);

    const onData = (chunk: Buffer) => this.onData(chunk);
    const onEnd = () => this.onEnd('QEMU closed the serial console (end of stream): the machine has exited');
    const onError = (err: Error) => this.onEnd(`the serial socket failed: ${err.message}`, err);
    stream.on('data', onData);
    stream.on('end', onEnd);
    stream.on('close', onEnd);
    stream.on('error', onError);
    this.detach = () => {
      stream.off('data', onData);
      stream.off('end', onEnd);
      stream.off('close', onEnd);
      stream.off('error', onError);
    };
  }

  /** Who holds Xen's serial input, as the last banner said. */
  get currentFocus(): Focus {
    return this.reader.focus;
  }

  /** Every focus change seen, in order, with its time. */
  get focusHistory(): readonly { t: number; focus: Focus }[] {
    return this.reader.focusHistory;
  }

  get bytesReceived(): number {
    return this.reader.bytesReceived;
  }

  /** Every kernel and Xen warning seen so far, once each, with its trace. */
  get warnings(): readonly SeenWarning[] {
    return this.warningWatch.warnings;
  }

  /** How many typed lines had to be erased and typed again because their echo did not match. */
  get retypedLines(): number {
    return this.typist.retypedLines;
  }

  /** Errors from writing the log files: logging never fails a run, but the report can say so. */
  get logWriteErrors(): readonly Error[] {
    return this.logs.writeErrors;
  }

  /** The lines of one domain kept in memory (the log file has them all). */
  history(domain: DomainRef): readonly Line[] {
    return [...this.store.lines(this.resolve(domain))];
  }

  /** Called for every complete line; returns the unsubscribe function. */
  subscribe(listener: (line: Line) => void): () => void {
    return this.store.subscribe(listener);
  }

  /** The clean log file of a domain (or the combined one). */
  logFile(domain: DomainRef | 'all'): string {
    return this.logs.fileOf(domain === 'all' ? 'all' : this.resolve(domain));
  }

  /** The last lines of a domain's console (or of all of them, tagged), for messages. */
  tail(domain: DomainRef | 'all', lines?: number): string {
    return this.store.tail(domain === 'all' ? 'all' : this.resolve(domain), lines);
  }

  /** Maps a caller's name for a domain to its source id. */
  resolve(ref: DomainRef): SourceId {
    return this.names.resolve(ref);
  }

  /** Resolves with the first unconsumed line of `domain` matching `pattern` (echoes never match). */
  expect(domain: DomainRef, pattern: RegExp | string, deadline: Deadline | number, opts: ExpectOptions = {}): Promise<Line> {
    const source = this.resolve(domain);
    const re = typeof pattern === 'string' ? new RegExp(escapeRegExp(pattern)) : stateless(pattern);
    return this.waiters.wait({
      domain: source,
      awaited: `console ${this.names.display(source)}: waiting for ${re}`,
      deadline: Deadline.from(deadline),
      match: (l) => re.test(l.text),
      history: !opts.fromNow,
      consume: true,
      partial: opts.partial ?? false,
      tailOf: source,
    }).promise;
  }

  /** Moves Xen's serial input to `target`, confirmed by Xen's banner. */
  focus(target: DomainRef, deadline: Deadline | number): Promise<void> {
    const dl = Deadline.from(deadline);
    return this.shells.focus(this.resolve(target), dl);
  }

  /** Types `command` into `domain`'s shell and waits for it to finish. */
  run(domain: DomainRef, command: string, deadline: Deadline | number): Promise<ConsoleRun> {
    const dl = Deadline.from(deadline);
    return this.shells.run(this.resolve(domain), command, dl);
  }

  /**
   * Waits for the rig's `/init` ready line, or for a `login:` prompt, which it answers with
   * `root` and then proves the shell with a marked command (see Shells.waitForShell).
   */
  async waitForShell(domain: DomainRef, deadline: Deadline | number): Promise<ShellReady> {
    const dl = Deadline.from(deadline);
    return this.shells.waitForShell(this.resolve(domain), dl);
  }

  /**
   * Calls `listener` for each fatal line seen from now on (after the grace for its trace),
   * whether or not a wait was pending: a panic during an SSH step must not go unnoticed.
   * `awaited` names what was going on, for the message. Returns the unsubscribe.
   */
  onFatal(awaited: string, listener: (error: ConsoleFatal) => void): () => void {
    return this.fatal.onFatal(awaited, listener);
  }

  /** Stops reading, rejects what still waits, closes the socket and flushes the logs. */
  async close(): Promise<void> {
    if (!this.ended) this.finish({ reason: 'the console was closed' });
    this.detach();
    this.stream.destroy();
    await this.logs.close();
  }

  private now(): number {
    return performance.now() - this.t0;
  }

  private onData(chunk: Buffer): void {
    this.logs.bytes(chunk);
    this.reader.push(chunk, this.now(), (line) => this.take(line));
    if (this.waiters.wantPartial) {
      const prompt = this.reader.partialLine();
      if (prompt) this.waiters.offer(prompt);
    }
    this.typist.heard();
  }

  /** Every complete line goes through here: kept and logged; unless it is an echo, offered and watched. */
  private take(line: Line): void {
    this.store.add(line);
    if (line.echo) return;
    this.waiters.offer(line);
    this.fatal.check(line);
    this.warningWatch.line(line.source, line.text);
  }

  private onEnd(reason: string, cause?: unknown): void {
    if (this.ended) return;
    this.reader.flush((line) => this.take(line));
    this.finish({ reason, cause });
  }

  private finish(ended: { reason: string; cause?: unknown }): void {
    this.ended = ended;
    this.fatal.stop();
    this.waiters.fail((w) => this.endedError(w.awaited));
  }

  /** After the stream ended, a recorded product death explains it better than the end itself. */
  private endedError(awaited: string): Error {
    const fatal = this.fatal.errorAtEnd(awaited);
    if (fatal) return fatal;
    const ended = this.ended ?? { reason: 'the console was closed' };
    return new ConsoleClosed(ended.reason, awaited, { ...this.evidence('all'), cause: ended.cause });
  }

  /** Throws if a wait on `domain` can no longer succeed: the stream ended, or Xen or that domain died. */
  private guard(domain: SourceId | undefined, awaited: string): void {
    if (this.ended) throw this.endedError(awaited);
    const fatal = this.fatal.errorFor(domain, awaited, Number.POSITIVE_INFINITY);
    if (fatal) throw fatal;
  }
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** A copy without g/y: those make RegExp.test remember where it stopped between lines. */
function stateless(re: RegExp): RegExp {
  return re.global || re.sticky ? new RegExp(re.source, re.flags.replace(/[gy]/g, '')) : re;
}
