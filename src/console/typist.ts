// Typing into a domain's console so that the line arrives whole. A domU's input FIFO drops what
// overflows and a loaded host has garbled a line, so a command line goes in chunks, each once
// the previous one's echo is back, and is checked against its echo before Enter is pressed.
import { performance } from 'node:perf_hooks';
import type { Duplex } from 'node:stream';
import { ConfigError, InfraError } from '../errors.js';
import type { Deadline } from '../deadline.js';
import type { SourceId } from './demux.js';
import { ConsoleTimeout } from './errors.js';
import type { Evidence, LineStore } from './lines.js';
import type { ConsoleLogs } from './logs.js';
import type { DomainNames } from './names.js';
import type { SerialReader } from './reader.js';

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

/** `pacing` itself, or a configuration error when it could never type anything. */
export function checkedPacing(pacing: Pacing): Pacing {
  if (!(pacing.chunkBytes >= 1) || !(pacing.intervalMs >= 0)) {
    throw new ConfigError(`console pacing needs chunkBytes ≥ 1 and intervalMs ≥ 0, got ${JSON.stringify(pacing)}`);
  }
  return pacing;
}

/** CTRL-U: ash's line editor and a canonical-mode tty both erase the line typed so far. */
const ERASE_LINE = Buffer.from([0x15]);
/** A line whose echo does not match is erased and typed again, this many times in all. */
export const TYPING_ATTEMPTS = 3;

/** What typing one line cost: bytes written (Enter, erases and retypes included) and echo round trips. */
export interface Typed {
  bytes: number;
  echoWaits: number;
}

/** While a command is typed: whose echo, from which line on, and who to wake when bytes arrive. */
interface EchoCapture {
  domain: SourceId;
  sinceSeq: number;
  wake?: () => void;
}

export interface TypistContext {
  /** The serial socket; only written to here. */
  serial: Duplex;
  reader: SerialReader;
  store: LineStore;
  logs: ConsoleLogs;
  names: DomainNames;
  evidence: Evidence;
  /** Throws when typing into `domain` can no longer succeed (the stream ended, the domain died). */
  guard(domain: SourceId | undefined, awaited: string): void;
}

export interface TypingOptions {
  pacing: Pacing;
  /** What ends a typed line. */
  newline: string;
  /** How long the echo of a typed chunk may stand still, short of what was typed, before the line counts as garbled. */
  echoQuietMs: number;
}

export class Typist {
  private capture?: EchoCapture;
  private retypes = 0;

  constructor(
    private readonly ctx: TypistContext,
    private readonly opts: TypingOptions,
  ) {}

  /** How many typed lines had to be erased and typed again because their echo did not match. */
  get retypedLines(): number {
    return this.retypes;
  }

  /** Bytes arrived: a typist waiting for its echo looks again at once instead of at its next poll. */
  heard(): void {
    this.capture?.wake?.();
  }

  /** Sends bytes as they are, unpaced: keystrokes that are no text (CTRL-a ×3). */
  async write(bytes: Buffer, awaited: string): Promise<void> {
    this.ctx.guard(undefined, awaited);
    await new Promise<void>((resolve, reject) =>
      this.ctx.serial.write(bytes, (err) =>
        err ? reject(new InfraError(`${awaited}: cannot write to the serial socket: ${err.message}`, { cause: err })) : resolve(),
      ),
    );
  }

  /**
   * Types `text` and Enter without watching the echo, paced by `intervalMs`: for a login name,
   * which getty's canonical mode echoes only once the line is complete.
   */
  typeBlind(text: string, deadline: Deadline, domain: SourceId, awaited: string): Promise<void> {
    return this.typePaced(`${text}${this.opts.newline}`, deadline, domain, awaited);
  }

  /**
   * Types a command line and Enter so that it cannot arrive garbled: chunk by chunk, each once
   * the last one's echo is back; before Enter the echo must end with exactly what was typed
   * (whitespace aside: a shell wraps long lines). A line whose echo stops short or differs is
   * erased with CTRL-U and typed again, at most TYPING_ATTEMPTS times, and the retype is logged.
   */
  async typeLine(text: string, deadline: Deadline, domain: SourceId, awaited: string): Promise<Typed> {
    const typed: Typed = { bytes: 0, echoWaits: 0 };
    for (let attempt = 1; ; attempt++) {
      const capture: EchoCapture = { domain, sinceSeq: this.ctx.reader.lastSeq };
      this.capture = capture;
      let ok: boolean;
      try {
        ok = await this.typeChunks(text, deadline, domain, awaited, capture, typed);
      } finally {
        this.capture = undefined;
      }
      if (ok) break;
      const seen = this.echoText(capture).slice(-160);
      if (attempt >= TYPING_ATTEMPTS) {
        throw new InfraError(`${awaited}: the console echoed ${JSON.stringify(seen)} instead of what was typed, ${attempt} times`, this.ctx.evidence(domain));
      }
      this.retypes++;
      this.ctx.logs.note(domain, `typed line garbled (echo ${JSON.stringify(seen)}): erasing it and typing it again (attempt ${attempt + 1} of ${TYPING_ATTEMPTS})`);
      await this.write(ERASE_LINE, awaited);
      typed.bytes += ERASE_LINE.length;
      await this.settleEcho(domain, deadline, awaited);
    }
    const enter = Buffer.from(this.opts.newline, 'utf8');
    await this.write(enter, awaited);
    typed.bytes += enter.length;
    return typed;
  }

  private async typePaced(text: string, deadline: Deadline, domain: SourceId, awaited: string): Promise<void> {
    const bytes = Buffer.from(text, 'utf8');
    const { chunkBytes, intervalMs } = this.opts.pacing;
    const started = performance.now();
    for (let at = 0; at < bytes.length; at += chunkBytes) {
      if (deadline.expired) throw this.timeout(domain, awaited, started);
      this.ctx.guard(domain, awaited);
      await this.write(bytes.subarray(at, at + chunkBytes), awaited);
      if (at + chunkBytes < bytes.length && intervalMs > 0) await sleep(intervalMs);
    }
  }

  private async typeChunks(text: string, deadline: Deadline, domain: SourceId, awaited: string, capture: EchoCapture, typed: Typed): Promise<boolean> {
    // Cut between characters, not bytes, so that what the echo must end with is whole characters.
    const chars = [...text];
    const { chunkBytes } = this.opts.pacing;
    for (let at = 0; at < chars.length; at += chunkBytes) {
      this.ctx.guard(domain, awaited);
      const chunk = Buffer.from(chars.slice(at, at + chunkBytes).join(''), 'utf8');
      await this.write(chunk, awaited);
      typed.bytes += chunk.length;
      typed.echoWaits++;
      const want = squash(chars.slice(0, at + chunkBytes).join(''));
      if (!(await this.echoReaches(capture, want, deadline, domain, awaited))) return false;
    }
    return true;
  }

  /** Waits until the captured echo ends with `want`; false once it stood still for echoQuietMs short of it. */
  private async echoReaches(capture: EchoCapture, want: string, deadline: Deadline, domain: SourceId, awaited: string): Promise<boolean> {
    const { echoQuietMs } = this.opts;
    const started = performance.now();
    let last = '';
    let stillSince = performance.now();
    for (;;) {
      const echo = squash(this.echoText(capture));
      if (echo.endsWith(want)) return true;
      if (echo !== last) {
        last = echo;
        stillSince = performance.now();
      } else if (performance.now() - stillSince >= echoQuietMs) return false;
      if (deadline.expired) throw this.timeout(domain, `${awaited} (waiting for the echo)`, started);
      this.ctx.guard(domain, awaited);
      await new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(timer);
          capture.wake = undefined;
          resolve();
        };
        const timer = setTimeout(done, Math.max(1, Math.min(250, echoQuietMs, deadline.remainingMs())));
        capture.wake = done;
      });
    }
  }

  /** After an erase: lets the guest's redraw arrive, so the next capture starts clean. */
  private async settleEcho(domain: SourceId, deadline: Deadline, awaited: string): Promise<void> {
    const { echoQuietMs } = this.opts;
    const capture: EchoCapture = { domain, sinceSeq: this.ctx.reader.lastSeq };
    this.capture = capture;
    try {
      // Nothing ends with this: it returns once the redraw has stood still for a moment.
      const quiet = Math.min(300, echoQuietMs);
      const start = performance.now();
      let last = -1;
      while (performance.now() - start < echoQuietMs && !deadline.expired) {
        const n = this.ctx.reader.bytesReceived;
        if (n === last) break;
        last = n;
        await sleep(Math.max(1, Math.min(quiet, deadline.remainingMs())));
      }
      this.ctx.guard(domain, awaited);
    } finally {
      this.capture = undefined;
    }
  }

  /**
   * What the domain echoed since the capture began: its complete lines and its part of the line
   * still being received (where a command's echo sits until Enter), without prefixes or escapes.
   */
  private echoText(capture: EchoCapture): string {
    const lines = this.ctx.store.linesAfter(capture.domain, capture.sinceSeq).map((l) => l.text);
    return [...lines, ...this.ctx.reader.partialTextOf(capture.domain)].join('');
  }

  private timeout(domain: SourceId, awaited: string, started: number): ConsoleTimeout {
    return new ConsoleTimeout(this.ctx.names.display(domain), awaited, performance.now() - started, this.ctx.evidence(domain));
  }
}

/** Whitespace aside: a shell may break or pad a long echo where the terminal wraps. */
function squash(text: string): string {
  return text.replace(/\s+/g, '');
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
