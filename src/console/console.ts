// The one reader of Xen's serial byte stream. Receives the connected serial socket (from
// machine/), splits and demultiplexes it into per-domain line streams written to logDir, and
// offers scenario steps a small protocol: expect, run, focus, waitForShell, tail, close.
import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { randomBytes } from 'node:crypto';
import type { Duplex } from 'node:stream';
import { ConfigError, InfraError } from '../errors.js';
import { Deadline } from '../deadline.js';
import { Demux, focusName, sourceOfDomid, splitGlued, type Attribution, type Focus, type SourceId } from './demux.js';
import { ConsoleClosed, ConsoleFatal, ConsoleTimeout, FocusError } from './errors.js';
import { FATAL_PATTERNS, matchFatal, type FatalHit, type FatalPattern } from './fatal.js';
import { moveFocus, SWITCH_INPUT } from './focus.js';
import { markCommand } from './marker.js';
import { LineSplitter, type SplitLine } from './splitter.js';
import { WarningWatch, type SeenWarning } from './warnings.js';

/** One line of one domain's console. */
export interface Line {
  /** Position in the whole serial stream: orders lines across domains. */
  seq: number;
  source: SourceId;
  /** The domain's own text, Xen's prefix removed, clean (no CR, NUL or ANSI). */
  text: string;
  /** The whole clean line as it appeared on the serial port. */
  line: string;
  /** Milliseconds since the console started, when the line's first byte arrived. */
  t: number;
  via: Attribution;
  /** Set on Xen's focus banners. */
  banner?: Focus;
  /** The console's echo of typed input: never offered to expectations or fatal checks. */
  echo: boolean;
  /** A line still without its newline (a prompt); only `partial` expectations see these. */
  partial?: boolean;
}

/**
 * How typed input is cut: a domU's input FIFO drops bytes past 32 (docs/rig-facts.md,
 * "Console"). A command goes `chunkBytes` at a time, each chunk once the previous one's echo
 * came back (the guest has read it, so the FIFO has room); `intervalMs` spaces the writes
 * that have no echo to wait for (the login name).
 */
export interface Pacing {
  chunkBytes: number;
  intervalMs: number;
}

export const DEFAULT_PACING: Pacing = { chunkBytes: 16, intervalMs: 20 };

/** While a command is typed: whose echo, from which line on, and who to wake when bytes arrive. */
interface EchoCapture {
  domain: SourceId;
  sinceSeq: number;
  wake?: () => void;
}

/** CTRL-U: ash's line editor and a canonical-mode tty both erase the line typed so far. */
const ERASE_LINE = Buffer.from([0x15]);
/** A line whose echo does not match is erased and typed again, this many times in all. */
export const TYPING_ATTEMPTS = 3;

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

/** A domain as callers name it: `xen`, `dom0`, `d1`, `DOM1`, a scenario name (`domU1`) or a domid. */
export type DomainRef = string | number;

export interface RunResult {
  /** The command's output lines on that domain, between the begin and end markers. */
  output: string[];
  exitStatus: number;
  lines: Line[];
  durationMs: number;
}

export interface ExpectOptions {
  /** Also match a line still being received (a prompt without newline). */
  partial?: boolean;
  /** Ignore lines that arrived before the call; by default unconsumed history is searched first. */
  fromNow?: boolean;
}

export interface ShellReady {
  how: 'ready-line' | 'login';
  line: Line;
}

interface WaitSpec {
  domain?: SourceId;
  awaited: string;
  deadline: Deadline;
  match: (line: Line) => boolean;
  history: boolean;
  consume: boolean;
  partial: boolean;
  tailOf: SourceId | 'all';
}

interface Waiter {
  spec: WaitSpec;
  since: number;
  startedAt: number;
  timer: NodeJS.Timeout | undefined;
  resolve: (line: Line) => void;
  reject: (err: Error) => void;
}

interface DomainStream {
  lines: Line[];
  /** The seq from which expectations look: everything before it is consumed. */
  cursor: number;
  log?: WriteStream;
}

interface FatalRecord {
  hit: FatalHit;
  seq: number;
}

const MARKER_NONCE_BYTES = 3;

const ALL_RING = 5000;

export class Console {
  private readonly t0 = performance.now();
  private readonly splitter = new LineSplitter();
  private readonly demux: Demux;
  private readonly streams = new Map<SourceId, DomainStream>();
  private readonly all: Line[] = [];
  private readonly waiters = new Set<Waiter>();
  private readonly listeners = new Set<(line: Line) => void>();
  private readonly focusLog: { t: number; focus: Focus }[] = [];
  private readonly pacing: Pacing;
  private readonly newline: string;
  private readonly focusStepMs: number;
  private readonly fatalGraceMs: number;
  private readonly fatalPatterns: readonly FatalPattern[];
  private readonly tailLines: number;
  private readonly historyLimit: number;
  private readonly names: Map<string, number>;
  private readonly nonce = randomBytes(MARKER_NONCE_BYTES).toString('hex');
  private readonly rawLog?: WriteStream;
  private readonly allLog: WriteStream;
  private readonly logErrors: Error[] = [];
  private readonly detach: () => void;
  private seq = 0;
  private commands = 0;
  private received = 0;
  private machineFatal?: FatalRecord;
  private readonly domainFatals = new Map<SourceId, FatalRecord>();
  private graceTimer?: NodeJS.Timeout;
  private readonly unannounced: FatalRecord[] = [];
  private readonly fatalListeners = new Set<{ awaited: string; listener: (error: ConsoleFatal) => void }>();
  private ended?: { reason: string; cause?: unknown };
  private echoWindow?: { domain: SourceId; typed: string };
  /** While a command is typed: where its echo starts, and who to wake when bytes arrive. */
  private echoCapture?: EchoCapture;
  private readonly echoQuietMs: number;
  private retypes = 0;
  private readonly warningWatch = new WarningWatch((source) => this.displayName(source));
  /** The domU a command is running on while it holds focus: its output may lose or gain (XEN) prefixes. */
  private inFlight?: SourceId;
  private partialConsumed?: { source: SourceId; t: number };
  private inputChain: Promise<void> = Promise.resolve();

  constructor(
    private readonly stream: Duplex,
    private readonly opts: ConsoleOptions,
  ) {
    this.pacing = opts.pacing ?? DEFAULT_PACING;
    if (!(this.pacing.chunkBytes >= 1) || !(this.pacing.intervalMs >= 0)) {
      throw new ConfigError(`console pacing needs chunkBytes ≥ 1 and intervalMs ≥ 0, got ${JSON.stringify(this.pacing)}`);
    }
    this.newline = opts.newline ?? '\n';
    this.focusStepMs = opts.focusStepMs ?? 10_000;
    this.echoQuietMs = opts.echoQuietMs ?? 3000;
    this.fatalGraceMs = Math.min(opts.fatalGraceMs ?? 300, 900);
    this.fatalPatterns = opts.fatalPatterns ?? FATAL_PATTERNS;
    this.tailLines = opts.tailLines ?? 40;
    this.historyLimit = opts.historyLimit ?? 50_000;
    this.names = new Map((opts.domains ?? []).map((d) => [d.name, d.domid]));
    this.demux = new Demux(opts.startedAfterBoot ? { focus: 'dom0', handedOver: true } : {});
    mkdirSync(opts.logDir, { recursive: true });
    if (opts.rawLog !== false) this.rawLog = this.openLog(opts.rawLog ?? join(opts.logDir, 'console-raw.log'));
    this.allLog = this.openLog(join(opts.logDir, 'console-all.log'));

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
    return this.demux.focus;
  }

  /** Every focus change seen, in order, with its time. */
  get focusHistory(): readonly { t: number; focus: Focus }[] {
    return [...this.focusLog];
  }

  get bytesReceived(): number {
    return this.received;
  }

  /** Every kernel and Xen warning seen so far, once each, with its trace. */
  get warnings(): readonly SeenWarning[] {
    return this.warningWatch.warnings;
  }

  /** How many typed lines had to be erased and typed again because their echo did not match. */
  get retypedLines(): number {
    return this.retypes;
  }

  /** The lines of one domain kept in memory (the log file has them all). */
  history(domain: DomainRef): readonly Line[] {
    return [...(this.streams.get(this.resolve(domain))?.lines ?? [])];
  }

  /** Called for every complete line; returns the unsubscribe function. */
  subscribe(listener: (line: Line) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** The clean log file of a domain (or the combined one). */
  logFile(domain: DomainRef | 'all'): string {
    const name = domain === 'all' ? 'all' : this.displayName(this.resolve(domain));
    return join(this.opts.logDir, `console-${name}.log`);
  }

  /** The last lines of a domain's console (or of all of them, tagged), for messages. */
  tail(domain: DomainRef | 'all', lines = this.tailLines): string {
    if (domain === 'all') {
      return this.all
        .slice(-lines)
        .map((l) => `${stamp(l.t)} ${this.displayName(l.source).padEnd(5)}| ${l.text}`)
        .join('\n');
    }
    const own = this.streams.get(this.resolve(domain))?.lines ?? [];
    return own
      .slice(-lines)
      .map((l) => `${stamp(l.t)} ${l.text}`)
      .join('\n');
  }

  /** Resolves with the first unconsumed line of `domain` matching `pattern` (echoes never match). */
  expect(domain: DomainRef, pattern: RegExp | string, deadline: Deadline | number, opts: ExpectOptions = {}): Promise<Line> {
    const source = this.resolve(domain);
    const re = typeof pattern === 'string' ? new RegExp(escapeRegExp(pattern)) : stateless(pattern);
    return this.waitFor({
      domain: source,
      awaited: `console ${this.displayName(source)}: waiting for ${re}`,
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
    const source = this.resolve(target);
    return this.exclusive(dl, source, `console: moving input focus to ${focusName(source)}`, () => this.focusLocked(source, dl));
  }

  /** Types `command` into `domain`'s shell and waits for it to finish. */
  run(domain: DomainRef, command: string, deadline: Deadline | number): Promise<RunResult> {
    const dl = Deadline.from(deadline);
    const source = this.resolve(domain);
    return this.exclusive(dl, source, `console ${this.displayName(source)}: running \`${command}\``, () => this.runLocked(source, command, dl));
  }

  /**
   * Waits for the rig's `/init` ready line, or for a `login:` prompt, which it answers with
   * `root` and then proves the shell with a marked command. An unfocused domU's prompt without
   * newline stays in Xen's buffer (pitfall 3), so login images show theirs only once focused.
   */
  async waitForShell(domain: DomainRef, deadline: Deadline | number): Promise<ShellReady> {
    const dl = Deadline.from(deadline);
    const source = this.resolve(domain);
    const ready = source === 'dom0' ? /xen-pvh-virtio: dom0 shell ready/ : /xen-pvh-virtio: domU shell ready/;
    const login = /(?:^|\s)login:\s*$/;
    const line = await this.waitFor({
      domain: source,
      awaited: `console ${this.displayName(source)}: waiting for a shell (${ready} or a login: prompt)`,
      deadline: dl,
      match: (l) => ready.test(l.text) || login.test(l.text),
      history: true,
      consume: true,
      partial: true,
      tailOf: source,
    }).promise;
    if (ready.test(line.text)) {
      if (source === 'dom0') await this.waitForPrompt(source, dl);
      return { how: 'ready-line', line };
    }
    await this.exclusive(dl, source, `console ${this.displayName(source)}: logging in`, async () => {
      await this.focusLocked(source, dl);
      await this.typePaced(`root${this.newline}`, dl, source, `console ${this.displayName(source)}: typing the login name`);
      await this.runLocked(source, 'true', dl);
    });
    return { how: 'login', line };
  }

  /**
   * dom0's rc prints its ready line just before init starts the shell, whose banner and prompt
   * follow. dom0 writes unprefixed, so those lines, printed while a command runs on a focused
   * domU, would be taken for the domU's (seen in a real boot, typing right after the ready
   * line): dom0 counts as ready once its prompt is there. A domU's prompt cannot be awaited
   * this way (Xen holds an unfocused domU's output until its newline), nor needs to be: its
   * lines carry Xen's prefix.
   */
  private async waitForPrompt(source: SourceId, dl: Deadline): Promise<void> {
    const prompt = /[#$] ?$/;
    const partial = this.splitter.partial();
    if (partial) {
      const last = splitGlued(partial.text).at(-1) ?? '';
      const c = this.demux.peek(last);
      if (c.source === source && prompt.test(c.text)) return;
    }
    await this.waitFor({
      domain: source,
      awaited: `console ${this.displayName(source)}: waiting for the shell's prompt after its ready line`,
      deadline: dl,
      match: (l) => prompt.test(l.text),
      history: true,
      consume: false,
      partial: true,
      tailOf: source,
    }).promise;
  }

  /** Stops reading, rejects what still waits, closes the socket and flushes the logs. */
  async close(): Promise<void> {
    if (!this.ended) this.finish({ reason: 'the console was closed' });
    this.detach();
    this.stream.destroy();
    const logs = [this.rawLog, this.allLog, ...[...this.streams.values()].map((s) => s.log)];
    await Promise.all(
      logs.map((log) => (log && !log.closed && !log.writableFinished ? new Promise<void>((r) => log.end(() => r())) : undefined)),
    );
  }

  /** Errors from writing the log files: logging never fails a run, but the report can say so. */
  get logWriteErrors(): readonly Error[] {
    return [...this.logErrors];
  }

  /** Maps a caller's name for a domain to its source id. */
  resolve(ref: DomainRef): SourceId {
    if (typeof ref === 'number') return sourceOfDomid(ref);
    if (ref === 'xen' || ref === 'dom0') return ref;
    const byName = this.names.get(ref);
    if (byName !== undefined) return sourceOfDomid(byName);
    const m = /^(?:d|dom)(\d+)$/i.exec(ref);
    if (m) return sourceOfDomid(Number(m[1]));
    const known = ['xen', 'dom0', ...this.names.keys()].join(', ');
    throw new ConfigError(`unknown console domain "${ref}" (known: ${known}, or d<domid>)`);
  }

  private displayName(source: SourceId): string {
    if (source === 'xen' || source === 'dom0') return source;
    const domid = Number(source.slice(1));
    for (const [name, id] of this.names) if (id === domid) return name;
    return source;
  }

  private now(): number {
    return performance.now() - this.t0;
  }

  private openLog(path: string): WriteStream {
    const log = createWriteStream(path, { flags: 'a' });
    log.on('error', (err) => this.logErrors.push(err));
    return log;
  }

  private onData(chunk: Buffer): void {
    this.received += chunk.length;
    this.rawLog?.write(chunk);
    for (const line of this.splitter.push(chunk, this.now())) this.ingest(line);
    this.offerPartial();
    this.echoCapture?.wake?.();
  }

  private ingest(split: SplitLine): void {
    for (const c of this.classifyPieces(split.text)) {
      const line: Line = { seq: ++this.seq, ...c, t: split.t, echo: this.isEcho(c.source, c.text, c.via) };
      this.store(line);
      if (line.banner) this.focusLog.push({ t: line.t, focus: line.banner });
      for (const listener of this.listeners) listener(line);
      if (!line.echo) {
        this.offer(line);
        this.checkFatal(line);
        this.warningWatch.line(line.source, line.text);
      }
    }
  }

  /**
   * Xen 4.17 re-prefixes a focused domU's line when the domU's output reaches it in two
   * chunks (`… 0% pack(XEN) et loss`) and sometimes drops the prefix of a whole line: while
   * a command runs on the focused domU, both are that domU's, not a new Xen or dom0 line.
   */
  private classifyPieces(text: string): ReturnType<Demux['classify']>[] {
    const out: ReturnType<Demux['classify']>[] = [];
    for (const piece of splitGlued(text)) {
      let c = this.demux.classify(piece);
      const running = this.inFlight;
      if (running && c.via === 'unprefixed' && this.demux.focus === running) c = { ...c, source: running, via: 'focus' };
      const prev = out[out.length - 1];
      if (prev && !prev.banner && c.via === 'focus' && prev.source === c.source && c.source === running) {
        out[out.length - 1] = { ...prev, text: prev.text + c.text, line: prev.line + c.line };
      } else out.push(c);
    }
    return out;
  }

  private store(line: Line): void {
    let s = this.streams.get(line.source);
    if (!s) {
      s = { lines: [], cursor: 0, log: this.openLog(this.logFile(line.source)) };
      this.streams.set(line.source, s);
    }
    s.lines.push(line);
    if (s.lines.length > this.historyLimit) s.lines.splice(0, Math.ceil(this.historyLimit / 10));
    if (this.partialConsumed && this.partialConsumed.source === line.source && this.partialConsumed.t === line.t) {
      s.cursor = line.seq + 1;
      this.partialConsumed = undefined;
    }
    this.all.push(line);
    if (this.all.length > ALL_RING) this.all.splice(0, ALL_RING / 10);
    s.log?.write(`${stamp(line.t)} ${line.text}\n`);
    this.allLog.write(`${stamp(line.t)} ${this.displayName(line.source).padEnd(5)}| ${line.text}\n`);
  }

  /**
   * Echo of typed input: any line carrying the typed marker form, and while a command is being
   * typed, lines of that domain made only of pieces of it (a long echo wrapped by the shell).
   * Unprefixed lines count too: a focused domU's echo continues without `(XEN) ` when dom0
   * printed in the middle of it (seen in real-xen417-debian-direct-uname.raw).
   */
  private isEcho(source: SourceId, text: string, via: Attribution): boolean {
    if (text.includes("XPV''")) return true;
    const w = this.echoWindow;
    if (!w || (w.domain !== source && via !== 'unprefixed')) return false;
    const t = text.trim();
    if (t.length === 0) return false;
    if (w.typed.includes(t)) return true;
    const start = t.indexOf(w.typed.slice(0, 6));
    return start !== -1 && w.typed.startsWith(t.slice(start));
  }

  private offer(line: Line): void {
    for (const w of [...this.waiters]) {
      if (line.partial && !w.spec.partial) continue;
      if (w.spec.domain !== undefined && w.spec.domain !== line.source) continue;
      if (!w.spec.match(line)) continue;
      this.settle(w);
      if (w.spec.consume) {
        if (line.partial) this.partialConsumed = { source: line.source, t: line.t };
        else this.consumeThrough(line);
      }
      w.resolve(line);
    }
  }

  private offerPartial(): void {
    if (![...this.waiters].some((w) => w.spec.partial)) return;
    const p = this.splitter.partial();
    if (!p) return;
    const pieces = splitGlued(p.text);
    const last = pieces[pieces.length - 1] ?? '';
    const c = this.demux.peek(last);
    if (this.isEcho(c.source, c.text, c.via)) return;
    this.offer({ seq: this.seq + 0.5, ...c, t: p.t, echo: false, partial: true });
  }

  private consumeThrough(line: Line): void {
    const s = this.streams.get(line.source);
    if (s && s.cursor <= line.seq) s.cursor = line.seq + 1;
  }

  private checkFatal(line: Line): void {
    const hit = matchFatal(line.source, line.text, this.fatalPatterns);
    if (!hit) return;
    const record = { hit, seq: line.seq };
    if (hit.scope === 'machine') this.machineFatal ??= record;
    else if (!this.domainFatals.has(line.source)) this.domainFatals.set(line.source, record);
    this.unannounced.push(record);
    // The grace lets the call trace that follows a panic line reach the tail before rejecting.
    this.graceTimer ??= setTimeout(() => {
      this.graceTimer = undefined;
      this.rejectForFatal();
      // After the rejected waits' callers have seen their own, more specific error.
      setImmediate(() => this.announceFatals());
    }, this.fatalGraceMs);
  }

  /**
   * Calls `listener` for each fatal line seen from now on (after the grace for its trace),
   * whether or not a wait was pending: a panic during an SSH step must not go unnoticed.
   * `awaited` names what was going on, for the message. Returns the unsubscribe.
   */
  onFatal(awaited: string, listener: (error: ConsoleFatal) => void): () => void {
    const entry = { awaited, listener };
    this.fatalListeners.add(entry);
    return () => this.fatalListeners.delete(entry);
  }

  private announceFatals(): void {
    for (const { hit } of this.unannounced.splice(0)) {
      for (const { awaited, listener } of [...this.fatalListeners]) {
        listener(new ConsoleFatal(this.displayName(hit.source), hit.what, hit.line, awaited, { consoleTail: this.tail(hit.source), logFile: this.logFile(hit.source) }));
      }
    }
  }

  private firstFatal(): FatalRecord | undefined {
    const all = [this.machineFatal, ...this.domainFatals.values()].filter((r): r is FatalRecord => r !== undefined);
    return all.sort((a, b) => a.seq - b.seq)[0];
  }

  private rejectForFatal(): void {
    for (const w of [...this.waiters]) {
      const err = this.fatalFor(w.spec.domain, w.spec.awaited, w.since);
      if (!err) continue;
      this.settle(w);
      w.reject(err);
    }
  }

  /**
   * The fatal error a wait on `domain` registered at `since` must fail with, if any: a machine
   * fatal stops everything; a domain fatal stops waits on that domain and every wait that was
   * already pending when it happened.
   */
  private fatalFor(domain: SourceId | undefined, awaited: string, since: number): ConsoleFatal | undefined {
    const first = this.firstFatal();
    let record = this.machineFatal;
    if (!record && domain !== undefined) record = this.domainFatals.get(domain);
    if (!record && first && since <= first.seq) record = first;
    if (!record) return undefined;
    const { hit } = record;
    return new ConsoleFatal(this.displayName(hit.source), hit.what, hit.line, awaited, {
      consoleTail: this.tail(hit.source),
      logFile: this.logFile(hit.source),
    });
  }

  private onEnd(reason: string, cause?: unknown): void {
    if (this.ended) return;
    for (const line of this.splitter.flush()) this.ingest(line);
    this.finish({ reason, cause });
  }

  private finish(ended: { reason: string; cause?: unknown }): void {
    this.ended = ended;
    if (this.graceTimer) clearTimeout(this.graceTimer);
    this.graceTimer = undefined;
    for (const w of [...this.waiters]) {
      this.settle(w);
      w.reject(this.endedError(w.spec.awaited));
    }
  }

  /** After the stream ended, a recorded product death explains it better than the end itself. */
  private endedError(awaited: string): Error {
    const first = this.firstFatal();
    if (first) return this.fatalFor(undefined, awaited, first.seq) as ConsoleFatal;
    const ended = this.ended ?? { reason: 'the console was closed' };
    return new ConsoleClosed(ended.reason, awaited, {
      consoleTail: this.tail('all'),
      logFile: this.logFile('all'),
      cause: ended.cause,
    });
  }

  /** Throws if a wait on `domain` can no longer succeed. */
  private guard(domain: SourceId | undefined, awaited: string): void {
    if (this.ended) throw this.endedError(awaited);
    const fatal = this.fatalFor(domain, awaited, Number.POSITIVE_INFINITY);
    if (fatal) throw fatal;
  }

  private settle(w: Waiter): void {
    if (w.timer) clearTimeout(w.timer);
    w.timer = undefined;
    this.waiters.delete(w);
  }

  private waitFor(spec: WaitSpec): { promise: Promise<Line>; cancel: () => void } {
    let waiter: Waiter | undefined;
    const promise = new Promise<Line>((resolve, reject) => {
      this.guard(spec.domain, spec.awaited);
      if (spec.history && spec.domain !== undefined) {
        const s = this.streams.get(spec.domain);
        const found = s?.lines.find((l) => l.seq >= s.cursor && !l.echo && spec.match(l));
        if (found) {
          if (spec.consume) this.consumeThrough(found);
          resolve(found);
          return;
        }
      }
      const w: Waiter = { spec, since: this.seq, startedAt: performance.now(), timer: undefined, resolve, reject };
      w.timer = setTimeout(() => {
        this.settle(w);
        const domain = spec.tailOf === 'all' ? 'all' : this.displayName(spec.tailOf);
        reject(
          new ConsoleTimeout(domain, spec.awaited, performance.now() - w.startedAt, {
            consoleTail: this.tail(spec.tailOf),
            logFile: this.logFile(spec.tailOf),
          }),
        );
      }, spec.deadline.remainingMs());
      this.waiters.add(w);
      waiter = w;
    });
    return {
      promise,
      cancel: () => {
        if (waiter) this.settle(waiter);
      },
    };
  }

  /**
   * One typist at a time: focus and typed bytes are shared by every domain. Waiting for the
   * turn is bounded by the caller's deadline too; a caller that gives up passes the turn on.
   */
  private async exclusive<T>(deadline: Deadline, domain: SourceId, awaited: string, fn: () => Promise<T>): Promise<T> {
    const before = this.inputChain;
    let release!: () => void;
    this.inputChain = new Promise<void>((r) => (release = r));
    let timer: NodeJS.Timeout | undefined;
    const started = performance.now();
    const turn = await Promise.race([
      before.then(() => true),
      new Promise<false>((r) => (timer = setTimeout(() => r(false), deadline.remainingMs()))),
    ]);
    clearTimeout(timer);
    if (!turn) {
      void before.then(release);
      throw new ConsoleTimeout(this.displayName(domain), `${awaited} (the console was busy with another command)`, performance.now() - started, {
        consoleTail: this.tail(domain),
        logFile: this.logFile(domain),
      });
    }
    try {
      return await fn();
    } finally {
      release();
    }
  }

  private async write(bytes: Buffer, awaited: string): Promise<void> {
    this.guard(undefined, awaited);
    await new Promise<void>((resolve, reject) =>
      this.stream.write(bytes, (err) => (err ? reject(new InfraError(`${awaited}: cannot write to the serial socket: ${err.message}`, { cause: err })) : resolve())),
    );
  }

  private async typePaced(text: string, deadline: Deadline, domain: SourceId, awaited: string): Promise<void> {
    const bytes = Buffer.from(text, 'utf8');
    const { chunkBytes, intervalMs } = this.pacing;
    const started = performance.now();
    for (let at = 0; at < bytes.length; at += chunkBytes) {
      if (deadline.expired) {
        throw new ConsoleTimeout(this.displayName(domain), awaited, performance.now() - started, {
          consoleTail: this.tail(domain),
          logFile: this.logFile(domain),
        });
      }
      this.guard(domain, awaited);
      await this.write(bytes.subarray(at, at + chunkBytes), awaited);
      if (at + chunkBytes < bytes.length && intervalMs > 0) await sleep(intervalMs);
    }
  }

  /**
   * Types a command line so that it cannot arrive garbled: chunk by chunk, each once the last
   * one's echo is back; before Enter the echo must end with exactly what was typed (whitespace
   * aside: a shell wraps long lines). A line whose echo stops short or differs is erased with
   * CTRL-U and typed again, at most TYPING_ATTEMPTS times, and the retype is logged.
   */
  private async typeLine(text: string, deadline: Deadline, domain: SourceId, awaited: string): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      const capture: EchoCapture = { domain, sinceSeq: this.seq };
      this.echoCapture = capture;
      let ok: boolean;
      try {
        ok = await this.typeChunks(text, deadline, domain, awaited, capture);
      } finally {
        this.echoCapture = undefined;
      }
      if (ok) break;
      const seen = this.echoText(capture).slice(-160);
      if (attempt >= TYPING_ATTEMPTS) {
        throw new InfraError(`${awaited}: the console echoed ${JSON.stringify(seen)} instead of what was typed, ${attempt} times`, {
          consoleTail: this.tail(domain),
          logFile: this.logFile(domain),
        });
      }
      this.retypes++;
      this.note(domain, `typed line garbled (echo ${JSON.stringify(seen)}): erasing it and typing it again (attempt ${attempt + 1} of ${TYPING_ATTEMPTS})`);
      await this.write(ERASE_LINE, awaited);
      await this.settleEcho(domain, deadline, awaited);
    }
    await this.write(Buffer.from(this.newline, 'utf8'), awaited);
  }

  private async typeChunks(text: string, deadline: Deadline, domain: SourceId, awaited: string, capture: EchoCapture): Promise<boolean> {
    const chars = [...text];
    const { chunkBytes } = this.pacing;
    for (let at = 0; at < chars.length; at += chunkBytes) {
      this.guard(domain, awaited);
      await this.write(Buffer.from(chars.slice(at, at + chunkBytes).join(''), 'utf8'), awaited);
      const want = squash(chars.slice(0, at + chunkBytes).join(''));
      if (!(await this.echoReaches(capture, want, deadline, domain, awaited))) return false;
    }
    return true;
  }

  /** Waits until the captured echo ends with `want`; false once it stood still for echoQuietMs short of it. */
  private async echoReaches(capture: EchoCapture, want: string, deadline: Deadline, domain: SourceId, awaited: string): Promise<boolean> {
    const started = performance.now();
    let last = '';
    let stillSince = performance.now();
    for (;;) {
      const echo = squash(this.echoText(capture));
      if (echo.endsWith(want)) return true;
      if (echo !== last) {
        last = echo;
        stillSince = performance.now();
      } else if (performance.now() - stillSince >= this.echoQuietMs) return false;
      if (deadline.expired) {
        throw new ConsoleTimeout(this.displayName(domain), `${awaited} (waiting for the echo)`, performance.now() - started, {
          consoleTail: this.tail(domain),
          logFile: this.logFile(domain),
        });
      }
      this.guard(domain, awaited);
      await new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(timer);
          capture.wake = undefined;
          resolve();
        };
        const timer = setTimeout(done, Math.max(1, Math.min(250, this.echoQuietMs, deadline.remainingMs())));
        capture.wake = done;
      });
    }
  }

  /** After an erase: lets the guest's redraw arrive, so the next capture starts clean. */
  private async settleEcho(domain: SourceId, deadline: Deadline, awaited: string): Promise<void> {
    const capture: EchoCapture = { domain, sinceSeq: this.seq };
    this.echoCapture = capture;
    try {
      // Nothing ends with this: it returns once the redraw has stood still for a moment.
      const quiet = Math.min(300, this.echoQuietMs);
      const start = performance.now();
      let last = -1;
      while (performance.now() - start < this.echoQuietMs && !deadline.expired) {
        const n = this.received;
        if (n === last) break;
        last = n;
        await sleep(Math.max(1, Math.min(quiet, deadline.remainingMs())));
      }
      this.guard(domain, awaited);
    } finally {
      this.echoCapture = undefined;
    }
  }

  /**
   * What the domain echoed since the capture began: its complete lines and its part of the line
   * still being received (where a command's echo sits until Enter), without prefixes or escapes.
   */
  private echoText(capture: EchoCapture): string {
    const lines = (this.streams.get(capture.domain)?.lines ?? []).filter((l) => l.seq > capture.sinceSeq).map((l) => l.text);
    const partial = this.splitter.partial();
    if (partial) {
      for (const piece of splitGlued(partial.text)) {
        const c = this.demux.peek(piece);
        const mine = c.source === capture.domain || (c.via === 'unprefixed' && this.inFlight === capture.domain && this.demux.focus === capture.domain);
        if (mine) lines.push(c.text);
      }
    }
    return lines.join('');
  }

  /** A line of our own in the domain's log and the combined one: what the typist had to do. */
  private note(domain: SourceId, text: string): void {
    const line = `${stamp(this.now())} [xen-pvh-virtio] ${text}\n`;
    this.streams.get(domain)?.log?.write(line);
    this.allLog.write(line);
  }

  private async focusLocked(target: SourceId, deadline: Deadline): Promise<void> {
    const awaited = `console: moving input focus to ${focusName(target)}`;
    if (!this.demux.handedOver) {
      await this.waitFor({
        domain: 'xen',
        awaited: `${awaited}: waiting for Xen to hand the console over`,
        deadline,
        match: (l) => l.banner !== undefined,
        history: false,
        consume: false,
        partial: false,
        tailOf: 'all',
      }).promise;
    }
    const nextBanner = async (within: Deadline, send: boolean): Promise<Focus | undefined> => {
      const banner = this.waitFor({
        domain: 'xen',
        awaited,
        deadline: within,
        match: (l) => l.banner !== undefined,
        history: false,
        consume: false,
        partial: false,
        tailOf: 'all',
      });
      banner.promise.catch(() => undefined);
      try {
        if (send) await this.write(SWITCH_INPUT, awaited);
        return (await banner.promise).banner;
      } catch (err) {
        if (err instanceof ConsoleTimeout) return undefined;
        throw err;
      } finally {
        banner.cancel();
      }
    };
    const outcome = await moveFocus(
      {
        current: () => this.demux.focus,
        switchOnce: (within) => nextBanner(within, true),
        awaitBanner: (within) => nextBanner(within, false),
      },
      target,
      deadline,
      this.focusStepMs,
    );
    if (!outcome.ok) {
      throw new FocusError(outcome.reason, focusName(target), { consoleTail: this.tail('all'), logFile: this.logFile('all') });
    }
  }

  private async runLocked(source: SourceId, command: string, deadline: Deadline): Promise<RunResult> {
    const started = performance.now();
    const name = this.displayName(source);
    await this.focusLocked(source, deadline);
    const marked = markCommand(command, this.nonce, ++this.commands);
    const wait = (what: string, re: RegExp) => {
      const w = this.waitFor({
        awaited: `console ${name}: waiting for the ${what} marker of \`${command}\``,
        deadline,
        match: (l) => re.test(l.text),
        history: false,
        consume: false,
        partial: false,
        tailOf: source,
      });
      w.promise.catch(() => undefined);
      return w;
    };
    const begin = wait('begin', marked.begin);
    const end = wait('end', marked.end);
    this.echoWindow = { domain: source, typed: marked.typed };
    if (source !== 'dom0' && source !== 'xen') this.inFlight = source;
    try {
      await this.typeLine(marked.typed, deadline, source, `console ${name}: typing \`${command}\``);
      const first = await begin.promise;
      this.echoWindow = undefined;
      const last = await end.promise;
      const lines = (this.streams.get(source)?.lines ?? []).filter((l) => l.seq > first.seq && l.seq < last.seq && !l.echo);
      const s = this.streams.get(source);
      if (s && s.cursor <= last.seq) s.cursor = last.seq + 1;
      return {
        output: lines.map((l) => l.text),
        exitStatus: Number(marked.end.exec(last.text)?.[1]),
        lines,
        durationMs: performance.now() - started,
      };
    } finally {
      this.echoWindow = undefined;
      this.inFlight = undefined;
      begin.cancel();
      end.cancel();
    }
  }
}

function stamp(t: number): string {
  return `+${(t / 1000).toFixed(3).padStart(8)}s`;
}

/** Whitespace aside: a shell may break or pad a long echo where the terminal wraps. */
function squash(text: string): string {
  return text.replace(/\s+/g, '');
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** A copy without g/y: those make RegExp.test remember where it stopped between lines. */
function stateless(re: RegExp): RegExp {
  return re.global || re.sticky ? new RegExp(re.source, re.flags.replace(/[gy]/g, '')) : re;
}
