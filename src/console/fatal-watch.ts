// The watch for the system's death: a Xen panic, a guest kernel's panic or oops, a boot fault
// (the patterns are in fatal.ts). A dead machine never prints what a wait is waiting for, so
// each fatal line cuts short the waits it dooms instead of letting them run to their deadlines.
import type { SourceId } from './demux.js';
import { ConsoleFatal } from './errors.js';
import { matchFatal, type FatalHit, type FatalPattern } from './fatal.js';
import type { Evidence, Line } from './lines.js';
import type { DomainNames } from './names.js';

interface Death {
  hit: FatalHit;
  seq: number;
}

export interface FatalWatchOptions {
  patterns: readonly FatalPattern[];
  /** After a fatal line, how long to keep collecting (the call trace) before anyone hears of it. */
  graceMs: number;
  names: DomainNames;
  evidence: Evidence;
  /** When the grace is over: reject the pending waits that errorFor now has an error for. */
  cutShort: () => void;
}

export class FatalWatch {
  private machine?: Death;
  private readonly domains = new Map<SourceId, Death>();
  private readonly unannounced: Death[] = [];
  private readonly listeners = new Set<{ awaited: string; listener: (error: ConsoleFatal) => void }>();
  private graceTimer?: NodeJS.Timeout;

  constructor(private readonly opts: FatalWatchOptions) {}

  /** Looks at one line (never an echo): a fatal one is recorded at once and announced after the grace. */
  check(line: Line): void {
    const hit = matchFatal(line.source, line.text, this.opts.patterns);
    if (!hit) return;
    // The first death explains what follows; a later panic of the same domain is its aftermath.
    const death = { hit, seq: line.seq };
    if (hit.scope === 'machine') this.machine ??= death;
    else if (!this.domains.has(line.source)) this.domains.set(line.source, death);
    this.unannounced.push(death);
    // The grace lets the call trace that follows a panic line reach the tail before rejecting.
    this.graceTimer ??= setTimeout(() => {
      this.graceTimer = undefined;
      this.opts.cutShort();
      // After the rejected waits' callers have seen their own, more specific error.
      setImmediate(() => this.announce());
    }, this.opts.graceMs);
  }

  /**
   * Calls `listener` for each fatal line seen from now on (after the grace for its trace),
   * whether or not a wait was pending: a panic during an SSH step must not go unnoticed.
   * `awaited` names what was going on, for the message. Returns the unsubscribe.
   */
  onFatal(awaited: string, listener: (error: ConsoleFatal) => void): () => void {
    const entry = { awaited, listener };
    this.listeners.add(entry);
    return () => this.listeners.delete(entry);
  }

  /**
   * The fatal error a wait on `domain` that began at seq `since` must fail with, if any: a
   * machine fatal stops everything; a domain fatal stops waits on that domain and every wait
   * that was already pending when it happened (whatever it waited for, the run has a death to
   * report). `since` = +∞ asks about a wait that begins now.
   */
  errorFor(domain: SourceId | undefined, awaited: string, since: number): ConsoleFatal | undefined {
    const first = this.first();
    let death = this.machine;
    if (!death && domain !== undefined) death = this.domains.get(domain);
    if (!death && first && since <= first.seq) death = first;
    return death ? this.error(death, awaited) : undefined;
  }

  /** Once the stream has ended: the death that explains the end better than the end itself, if any. */
  errorAtEnd(awaited: string): ConsoleFatal | undefined {
    const first = this.first();
    return first ? this.errorFor(undefined, awaited, first.seq) : undefined;
  }

  /** Cancels a grace still running: once the stream has ended, the end fails the waits instead. */
  stop(): void {
    if (this.graceTimer) clearTimeout(this.graceTimer);
    this.graceTimer = undefined;
  }

  private announce(): void {
    for (const death of this.unannounced.splice(0)) {
      for (const { awaited, listener } of [...this.listeners]) listener(this.error(death, awaited));
    }
  }

  private first(): Death | undefined {
    const all = [this.machine, ...this.domains.values()].filter((d): d is Death => d !== undefined);
    return all.sort((a, b) => a.seq - b.seq)[0];
  }

  private error({ hit }: Death, awaited: string): ConsoleFatal {
    return new ConsoleFatal(this.opts.names.display(hit.source), hit.what, hit.line, awaited, this.opts.evidence(hit.source));
  }
}
