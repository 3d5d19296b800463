// One typist at a time: Xen's input focus and the bytes on the wire are shared by every
// domain, so a focus switch or a command must never interleave with another one's keystrokes.
import { performance } from 'node:perf_hooks';
import type { Deadline } from '../deadline.js';

export class InputTurn {
  private chain: Promise<void> = Promise.resolve();

  /**
   * Runs `fn` once every earlier holder is done. Waiting for the turn is bounded by the
   * caller's deadline too: a caller that gives up fails with `busy(waitedMs)` and passes the
   * turn on, so the callers after it are not stuck behind one that left.
   */
  async take<T>(deadline: Deadline, busy: (waitedMs: number) => Error, fn: () => Promise<T>): Promise<T> {
    const before = this.chain;
    let release!: () => void;
    this.chain = new Promise<void>((r) => (release = r));
    let timer: NodeJS.Timeout | undefined;
    const started = performance.now();
    const turn = await Promise.race([
      before.then(() => true),
      new Promise<false>((r) => (timer = setTimeout(() => r(false), deadline.remainingMs()))),
    ]);
    clearTimeout(timer);
    if (!turn) {
      void before.then(release);
      throw busy(performance.now() - started);
    }
    try {
      return await fn();
    } finally {
      release();
    }
  }
}
