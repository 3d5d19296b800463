// Deadline-bound waits for a console line. Each wait says what it awaits, so whatever ends it
// (its deadline, a fatal line, the end of the stream) fails with a message that names what
// was going on and shows the tail of the console that explains it.
import { performance } from 'node:perf_hooks';
import type { Deadline } from '../deadline.js';
import type { SourceId } from './demux.js';
import { ConsoleTimeout } from './errors.js';
import type { Evidence, Line, LineStore } from './lines.js';
import type { DomainNames } from './names.js';

export interface WaitSpec {
  /** Only lines of this domain; undefined: a line of any domain. */
  domain?: SourceId;
  /** What is awaited, naming the domain (`console domU1: waiting for /ready/`): every failure starts with it. */
  awaited: string;
  deadline: Deadline;
  match: (line: Line) => boolean;
  /** Look through the domain's unconsumed lines first. */
  history: boolean;
  /** Consume the matched line, so that it satisfies no later expectation. */
  consume: boolean;
  /** Also offer the line still being received (a prompt without newline). */
  partial: boolean;
  /** Whose tail a timeout shows. */
  tailOf: SourceId | 'all';
}

/** A wait in progress. `cancel` gives it up and leaves its promise unsettled. */
export interface Wait {
  promise: Promise<Line>;
  cancel: () => void;
}

/** A pending wait as the reasons to end it early see it. */
export interface PendingWait {
  domain?: SourceId;
  awaited: string;
  /** The last seq read when the wait began: it was pending for every line after it. */
  since: number;
}

export interface WaitersContext {
  store: LineStore;
  names: DomainNames;
  evidence: Evidence;
  /** The seq of the last line read. */
  lastSeq(): number;
  /** Throws when a wait on `domain` can no longer succeed (the stream ended, the domain died). */
  guard(domain: SourceId | undefined, awaited: string): void;
}

interface Waiter {
  spec: WaitSpec;
  since: number;
  startedAt: number;
  timer: NodeJS.Timeout | undefined;
  resolve: (line: Line) => void;
  reject: (err: Error) => void;
}

export class Waiters {
  private readonly waiters = new Set<Waiter>();

  constructor(private readonly ctx: WaitersContext) {}

  /** Whether some wait wants to see the line still being received. */
  get wantPartial(): boolean {
    return [...this.waiters].some((w) => w.spec.partial);
  }

  /** Resolves with the first line that `spec` accepts, or rejects when its deadline passes. */
  wait(spec: WaitSpec): Wait {
    let waiter: Waiter | undefined;
    const promise = new Promise<Line>((resolve, reject) => {
      this.ctx.guard(spec.domain, spec.awaited);
      if (spec.history && spec.domain !== undefined) {
        const found = this.ctx.store.unconsumed(spec.domain, spec.match);
        if (found) {
          if (spec.consume) this.ctx.store.consume(found);
          resolve(found);
          return;
        }
      }
      const w: Waiter = { spec, since: this.ctx.lastSeq(), startedAt: performance.now(), timer: undefined, resolve, reject };
      w.timer = setTimeout(() => {
        this.settle(w);
        const domain = spec.tailOf === 'all' ? 'all' : this.ctx.names.display(spec.tailOf);
        reject(new ConsoleTimeout(domain, spec.awaited, performance.now() - w.startedAt, this.ctx.evidence(spec.tailOf)));
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
   * A wait registered before the action that makes its line appear (a keystroke, a typed
   * command), so the line cannot slip by in between. The action can fail first, and then
   * nobody awaits this wait: its rejection is marked handled here so it does not surface as an
   * unhandled rejection; whoever does await the promise still gets it.
   */
  armed(spec: WaitSpec): Wait {
    const wait = this.wait(spec);
    wait.promise.catch(() => undefined);
    return wait;
  }

  /** Offers a line (never an echo) to every pending wait; each one that takes it is resolved. */
  offer(line: Line): void {
    for (const w of [...this.waiters]) {
      if (line.partial && !w.spec.partial) continue;
      if (w.spec.domain !== undefined && w.spec.domain !== line.source) continue;
      if (!w.spec.match(line)) continue;
      this.settle(w);
      if (w.spec.consume) this.ctx.store.consume(line);
      w.resolve(line);
    }
  }

  /** Rejects every pending wait that `errorFor` has an error for; the others keep waiting. */
  fail(errorFor: (wait: PendingWait) => Error | undefined): void {
    for (const w of [...this.waiters]) {
      const err = errorFor({ domain: w.spec.domain, awaited: w.spec.awaited, since: w.since });
      if (!err) continue;
      this.settle(w);
      w.reject(err);
    }
  }

  private settle(w: Waiter): void {
    if (w.timer) clearTimeout(w.timer);
    w.timer = undefined;
    this.waiters.delete(w);
  }
}
