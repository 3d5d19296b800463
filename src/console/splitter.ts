// Bytes from the serial port → lines. Pure: the caller passes the clock, so the same bytes
// give the same lines however the reads were cut (inside a UTF-8 sequence, between CR and LF).

/** One complete line as it came off the wire. */
export interface SplitLine {
  /** Clean text: no CR, no NUL, no ANSI escape sequences, no other C0 control bytes. */
  text: string;
  /** The exact bytes of the line, terminator excluded (the raw log keeps everything anyway). */
  raw: Buffer;
  /** Milliseconds since the console started, taken when the line's first byte arrived. */
  t: number;
}

const LF = 0x0a;

/** Lines that never end (binary garbage, a runaway prompt) are cut here so memory stays bounded. */
export const MAX_LINE_BYTES = 64 * 1024;

// CSI (ESC [ … final), OSC (ESC ] … BEL or ESC \), and the short ESC forms (ESC ( B, ESC 7, …).
// Intermediate bytes (space to '/') are capped at two: on this console a guest's escape
// sequence can be cut short by Xen's own output, and ash's lone ESC right before Xen's
// "*** Serial input to Xen" banner would otherwise swallow "*** S" as intermediates and a
// final byte, hiding the banner that says where input now goes (so a focus switch waited out
// its deadline). Real terminals' sequences use at most one intermediate.
// eslint-disable-next-line no-control-regex -- matching control bytes is this regex's job
const ANSI = /\x1b\[[0-?]*[ -/]{0,2}[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b[ -/]{0,2}[0-~]/g;
// Every C0 control except TAB, plus DEL: CR and NUL are noise on this console, ESC leftovers too.
// eslint-disable-next-line no-control-regex -- as above
const CONTROLS = /[\x00-\x08\x0a-\x1f\x7f]/g;

/**
 * Cleans one line's text for matching. LF is the only line terminator on Xen's console (Xen,
 * Linux and busybox all end lines with LF, often as CR LF or CR CR LF), so every CR is dropped
 * rather than treated as a break: a break would cut a focused domU's `(XEN) ` prefix off its text.
 */
export function cleanText(decoded: string): string {
  return decoded.replace(ANSI, '').replace(CONTROLS, '');
}

export class LineSplitter {
  private parts: Buffer[] = [];
  private size = 0;
  private startedAt = 0;

  /** Feeds one read; returns the lines it completed. */
  push(chunk: Uint8Array, now: number): SplitLine[] {
    const out: SplitLine[] = [];
    let from = 0;
    while (from < chunk.length) {
      if (this.size === 0) this.startedAt = now;
      const lf = chunk.indexOf(LF, from);
      const end = lf === -1 ? chunk.length : lf;
      const room = MAX_LINE_BYTES - this.size;
      if (end - from >= room) {
        this.append(chunk.subarray(from, from + room));
        out.push(this.take());
        from += room;
        continue;
      }
      this.append(chunk.subarray(from, end));
      if (lf === -1) break;
      out.push(this.take());
      from = lf + 1;
    }
    return out;
  }

  /** The line being received (no LF yet), cleaned; prompts live here. Undefined when empty. */
  partial(): { text: string; t: number } | undefined {
    if (this.size === 0) return undefined;
    // A streaming decode leaves an incomplete UTF-8 tail out instead of turning it into U+FFFD.
    const decoded = new TextDecoder('utf-8').decode(this.bytes(), { stream: true });
    return { text: cleanText(decoded), t: this.startedAt };
  }

  /** Ends the stream: the unterminated rest, if any, becomes a last line. */
  flush(): SplitLine[] {
    return this.size === 0 ? [] : [this.take()];
  }

  private append(bytes: Uint8Array): void {
    if (bytes.length === 0) return;
    this.parts.push(Buffer.from(bytes));
    this.size += bytes.length;
  }

  private bytes(): Buffer {
    if (this.parts.length !== 1) this.parts = [Buffer.concat(this.parts, this.size)];
    return this.parts[0] ?? Buffer.alloc(0);
  }

  private take(): SplitLine {
    const raw = this.size === 0 ? Buffer.alloc(0) : this.bytes();
    const line = { text: cleanText(raw.toString('utf8')), raw, t: this.startedAt };
    this.parts = [];
    this.size = 0;
    return line;
  }
}
