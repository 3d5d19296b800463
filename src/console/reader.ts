// Serial bytes → attributed lines: cut at LF (splitter.ts), split where Xen glued a line of its
// own onto another, given to the domain that printed them (demux.ts) and flagged when they are
// only the echo of what was typed. It is told which command is in flight, because a focused
// domU's output loses or gains Xen's prefix mid-command and is still that domU's.
import { Demux, splitGlued, type Attribution, type ClassifiedLine, type Focus, type SourceId } from './demux.js';
import type { Line } from './lines.js';
import { LineSplitter, type SplitLine } from './splitter.js';

export class SerialReader {
  private readonly splitter = new LineSplitter();
  private readonly demux: Demux;
  private readonly focusLog: { t: number; focus: Focus }[] = [];
  private seq = 0;
  private received = 0;
  /** While a command line is being typed into `domain`: what was typed, so its echo is recognised. */
  typing?: { domain: SourceId; typed: string };
  /** The domU a command is running on while it holds focus: its output may lose or gain (XEN) prefixes. */
  runningOn?: SourceId;

  /** `startedAfterBoot`: attaching to a machine that already booted, where dom0 holds input and the console is handed over. */
  constructor(startedAfterBoot: boolean) {
    this.demux = new Demux(startedAfterBoot ? { focus: 'dom0', handedOver: true } : {});
  }

  /** Who holds Xen's serial input, as the last banner said. */
  get focus(): Focus {
    return this.demux.focus;
  }

  /** Whether Xen has handed the console over to dom0 yet (its first banner). */
  get handedOver(): boolean {
    return this.demux.handedOver;
  }

  /** Every focus change seen, in order, with its time. */
  get focusHistory(): readonly { t: number; focus: Focus }[] {
    return [...this.focusLog];
  }

  get bytesReceived(): number {
    return this.received;
  }

  /** The seq of the last complete line read. */
  get lastSeq(): number {
    return this.seq;
  }

  /** Reads one chunk received at `t`; `take` gets each line it completed, in order. */
  push(chunk: Buffer, t: number, take: (line: Line) => void): void {
    this.received += chunk.length;
    for (const split of this.splitter.push(chunk, t)) this.attribute(split, take);
  }

  /** The stream ended: the unterminated rest, if any, becomes a last line. */
  flush(take: (line: Line) => void): void {
    for (const split of this.splitter.flush()) this.attribute(split, take);
  }

  /** The line still being received (a prompt, an echo before Enter), cut and attributed without moving focus. */
  partial(): { pieces: ClassifiedLine[]; t: number } | undefined {
    const p = this.splitter.partial();
    if (!p) return undefined;
    return { pieces: splitGlued(p.text).map((piece) => this.demux.peek(piece)), t: p.t };
  }

  /** The line still being received as partial expectations see it; undefined when there is none or it is an echo. */
  partialLine(): Line | undefined {
    const p = this.partial();
    const last = p?.pieces.at(-1);
    if (!p || !last || this.isEcho(last.source, last.text, last.via)) return undefined;
    return { seq: this.seq + 0.5, ...last, t: p.t, echo: false, partial: true };
  }

  /** The pieces of the line still being received that `domain` printed: where a command's echo sits until Enter. */
  partialTextOf(domain: SourceId): string[] {
    const mine = (c: ClassifiedLine) => c.source === domain || (c.via === 'unprefixed' && this.runningOn === domain && this.demux.focus === domain);
    return (this.partial()?.pieces ?? []).filter(mine).map((c) => c.text);
  }

  private attribute(split: SplitLine, take: (line: Line) => void): void {
    for (const c of this.classifyPieces(split.text)) {
      const line: Line = { seq: ++this.seq, ...c, t: split.t, echo: this.isEcho(c.source, c.text, c.via) };
      if (line.banner) this.focusLog.push({ t: line.t, focus: line.banner });
      take(line);
    }
  }

  /**
   * Xen 4.17 re-prefixes a focused domU's line when the domU's output reaches it in two
   * chunks (`… 0% pack(XEN) et loss`) and sometimes drops the prefix of a whole line: while
   * a command runs on the focused domU, both are that domU's, not a new Xen or dom0 line.
   */
  private classifyPieces(text: string): ClassifiedLine[] {
    const out: ClassifiedLine[] = [];
    for (const piece of splitGlued(text)) {
      let c = this.demux.classify(piece);
      const running = this.runningOn;
      if (running && c.via === 'unprefixed' && this.demux.focus === running) c = { ...c, source: running, via: 'focus' };
      const prev = out[out.length - 1];
      if (prev && !prev.banner && c.via === 'focus' && prev.source === c.source && c.source === running) {
        out[out.length - 1] = { ...prev, text: prev.text + c.text, line: prev.line + c.line };
      } else out.push(c);
    }
    return out;
  }

  /**
   * Echo of typed input: any line carrying the typed marker form, and while a command is being
   * typed, lines of that domain made only of pieces of it (a long echo wrapped by the shell).
   * Unprefixed lines count too: a focused domU's echo continues without `(XEN) ` when dom0
   * printed in the middle of it (seen in real-xen417-debian-direct-uname.raw).
   */
  private isEcho(source: SourceId, text: string, via: Attribution): boolean {
    if (text.includes("XPV''")) return true;
    const w = this.typing;
    if (!w || (w.domain !== source && via !== 'unprefixed')) return false;
    const t = text.trim();
    if (t.length === 0) return false;
    if (w.typed.includes(t)) return true;
    const start = t.indexOf(w.typed.slice(0, 6));
    return start !== -1 && w.typed.startsWith(t.slice(start));
  }
}
