// A point in time every wait (console, SSH, backends, forensics) is bounded by. Monotonic,
// so a wall-clock jump (NTP on a CI runner) can neither expire nor extend a wait.
import { performance } from 'node:perf_hooks';

export class Deadline {
  private constructor(readonly at: number) {}

  /** The deadline `ms` milliseconds from now. */
  static after(ms: number): Deadline {
    return new Deadline(performance.now() + ms);
  }

  /** A Deadline as is, or a plain number read as milliseconds from now. */
  static from(deadline: Deadline | number): Deadline {
    return typeof deadline === 'number' ? Deadline.after(deadline) : deadline;
  }

  remainingMs(): number {
    return Math.max(0, this.at - performance.now());
  }

  get expired(): boolean {
    return this.remainingMs() === 0;
  }

  /** The earlier of this deadline and `ms` from now: a step inside a longer wait. */
  capped(ms: number): Deadline {
    return new Deadline(Math.min(this.at, performance.now() + ms));
  }
}
