// The console's memory: each domain's lines in arrival order, with how far expectations have
// consumed them, and a bounded ring of every domain's lines, for the tails failures show.
import type { Attribution, Focus, SourceId } from './demux.js';
import type { DomainNames } from './names.js';

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

/** What a failure shows of the console: the last lines of a domain (or of all), and the log that has them all. */
export type Evidence = (of: SourceId | 'all') => { consoleTail: string; logFile: string };

/** A line's time as tails and logs show it: seconds since the console started. */
export function stamp(t: number): string {
  return `+${(t / 1000).toFixed(3).padStart(8)}s`;
}

// The combined ring only feeds tails of `all`; the combined log file has everything.
const ALL_RING = 5000;

interface DomainLines {
  lines: Line[];
  /** The seq from which expectations look: everything before it is consumed. */
  cursor: number;
}

export class LineStore {
  private readonly domains = new Map<SourceId, DomainLines>();
  private readonly all: Line[] = [];
  private readonly listeners = new Set<(line: Line) => void>();
  /** A prompt consumed while it had no newline yet: its line, once complete, is consumed too. */
  private partialConsumed?: { source: SourceId; t: number };

  constructor(
    private readonly names: DomainNames,
    private readonly limits: {
      /** Lines kept per domain; older ones stay in the log files only. */
      historyLimit: number;
      /** How many lines a tail shows unless told. */
      tailLines: number;
    },
  ) {}

  /** Keeps a complete line and hands it to every subscriber. */
  add(line: Line): void {
    let own = this.domains.get(line.source);
    if (!own) {
      own = { lines: [], cursor: 0 };
      this.domains.set(line.source, own);
    }
    own.lines.push(line);
    // Trimmed a tenth at a time, so a long run does not pay for a splice on every line.
    if (own.lines.length > this.limits.historyLimit) own.lines.splice(0, Math.ceil(this.limits.historyLimit / 10));
    if (this.partialConsumed && this.partialConsumed.source === line.source && this.partialConsumed.t === line.t) {
      own.cursor = line.seq + 1;
      this.partialConsumed = undefined;
    }
    this.all.push(line);
    if (this.all.length > ALL_RING) this.all.splice(0, ALL_RING / 10);
    for (const listener of this.listeners) listener(line);
  }

  /** Called for every complete line, echoes included; returns the unsubscribe function. */
  subscribe(listener: (line: Line) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** The lines of `source` kept in memory, oldest first (the store's own array: read, do not keep). */
  lines(source: SourceId): readonly Line[] {
    return this.domains.get(source)?.lines ?? [];
  }

  /**
   * The lines of `source` after `seq`, oldest first. Looked for from the end: a typist asks at
   * every byte of echo, and what it wants is the last few lines of a history of thousands.
   */
  linesAfter(source: SourceId, seq: number): Line[] {
    const lines = this.lines(source);
    let from = lines.length;
    while (from > 0 && lines[from - 1]!.seq > seq) from--;
    return lines.slice(from);
  }

  /** The first line of `source` not consumed yet that `match` accepts; echoes never count. */
  unconsumed(source: SourceId, match: (line: Line) => boolean): Line | undefined {
    const own = this.domains.get(source);
    return own?.lines.find((l) => l.seq >= own.cursor && !l.echo && match(l));
  }

  /** Marks `line` as used by an expectation, with everything of its domain before it. */
  consume(line: Line): void {
    if (line.partial) this.partialConsumed = { source: line.source, t: line.t };
    else this.consumeThrough(line.source, line.seq);
  }

  /** Moves the cursor of `source` past `seq` (never back). */
  consumeThrough(source: SourceId, seq: number): void {
    const own = this.domains.get(source);
    if (own && own.cursor <= seq) own.cursor = seq + 1;
  }

  /** The last lines of a domain's console, or of all of them tagged with their domain, for messages. */
  tail(of: SourceId | 'all', lines = this.limits.tailLines): string {
    if (of === 'all') {
      return this.all
        .slice(-lines)
        .map((l) => `${stamp(l.t)} ${this.names.display(l.source).padEnd(5)}| ${l.text}`)
        .join('\n');
    }
    return this.lines(of)
      .slice(-lines)
      .map((l) => `${stamp(l.t)} ${l.text}`)
      .join('\n');
  }
}
