// The waiters against a real line store, with lines made by hand: what a wait finds, what it
// consumes, and how each way of ending it reads.
import { describe, expect, it } from 'vitest';
import { Deadline } from '../../../src/deadline.js';
import { ConsoleTimeout, type Line, type SourceId } from '../../../src/console/index.js';
import { LineStore } from '../../../src/console/lines.js';
import { DomainNames } from '../../../src/console/names.js';
import { Waiters, type WaitSpec } from '../../../src/console/waiters.js';

function setup(guard: (domain: SourceId | undefined, awaited: string) => void = () => {}) {
  const names = new DomainNames([{ name: 'domU1', domid: 1 }]);
  const store = new LineStore(names, { historyLimit: 100, tailLines: 3 });
  let seq = 0;
  const waiters = new Waiters({
    store,
    names,
    evidence: (of) => ({ consoleTail: store.tail(of), logFile: `logs/console-${of}.log` }),
    lastSeq: () => seq,
    guard,
  });
  /** A complete line as the console takes it: kept, then offered unless it is an echo. */
  const read = (source: SourceId, text: string, more: Partial<Line> = {}): Line => {
    const line: Line = { seq: ++seq, source, text, line: text, t: seq * 10, via: 'prefix', echo: false, ...more };
    store.add(line);
    if (!line.echo) waiters.offer(line);
    return line;
  };
  const spec = (over: Partial<WaitSpec>): WaitSpec => ({
    domain: 'dom0',
    awaited: 'console dom0: waiting for /ready/',
    deadline: Deadline.after(5000),
    match: (l) => /ready/.test(l.text),
    history: true,
    consume: true,
    partial: false,
    tailOf: 'dom0',
    ...over,
  });
  return { store, waiters, read, spec, seq: () => seq };
}

/** The error `p` rejects with (handled at once). */
function rejection(p: Promise<unknown>): Promise<Error> {
  return p.then(
    () => {
      throw new Error('expected a rejection');
    },
    (err: unknown) => err as Error,
  );
}

/** Whether `p` is still pending after the event loop had a turn. */
async function pending(p: Promise<unknown>): Promise<boolean> {
  const still = Symbol('pending');
  const settled = await Promise.race([p.then(() => 'done', () => 'done'), new Promise((r) => setTimeout(() => r(still), 20))]);
  return settled === still;
}

describe('Waiters', () => {
  it('finds unconsumed lines from before the call, oldest first, and never the same one twice', async () => {
    const { waiters, read, spec } = setup();
    read('dom0', 'first ready');
    read('dom0', 'second ready');
    read('dom0', 'echo of ready', { echo: true });
    expect((await waiters.wait(spec({})).promise).text).toBe('first ready');
    expect((await waiters.wait(spec({})).promise).text).toBe('second ready');
    // The echo is never found, and both ready lines are consumed now.
    const err = await rejection(waiters.wait(spec({ deadline: Deadline.after(30) })).promise);
    expect(err).toBeInstanceOf(ConsoleTimeout);
  });

  it('consuming a line consumes everything of its domain before it, and nothing of other domains', async () => {
    const { waiters, read, spec, store } = setup();
    read('dom0', 'old ready');
    read('d1', 'domU ready');
    read('dom0', 'new ready');
    expect((await waiters.wait(spec({ match: (l) => l.text === 'new ready' })).promise).text).toBe('new ready');
    expect(store.unconsumed('dom0', () => true)).toBeUndefined();
    expect(store.unconsumed('d1', () => true)?.text).toBe('domU ready');
  });

  it('without history, waits for a new line of its own domain only', async () => {
    const { waiters, read, spec } = setup();
    read('dom0', 'old ready');
    const wait = waiters.wait(spec({ history: false })).promise;
    read('d1', 'other ready');
    expect(await pending(wait)).toBe(true);
    read('dom0', 'new ready');
    expect((await wait).text).toBe('new ready');
  });

  it('offers a prompt still without newline to partial waits only, and once consumed its completed line stays consumed', async () => {
    const { waiters, read, spec, store, seq } = setup();
    const login = (l: Line) => /login: $/.test(l.text);
    const prompt = waiters.wait(spec({ match: login, partial: true })).promise;
    const whole = waiters.wait(spec({ match: login, consume: false })).promise;
    waiters.offer({ seq: seq() + 0.5, source: 'dom0', text: 'dom0 login: ', line: 'dom0 login: ', t: 500, via: 'unprefixed', echo: false, partial: true });
    expect((await prompt).partial).toBe(true);
    expect(await pending(whole)).toBe(true);
    read('dom0', 'dom0 login: ', { t: 500 });
    expect((await whole).partial).toBeUndefined();
    expect(store.unconsumed('dom0', login)).toBeUndefined();
  });

  it('a passed deadline names what was awaited and shows the tail of the console it names', async () => {
    const { waiters, read, spec } = setup();
    for (let i = 1; i <= 5; i++) read('d1', `boot line ${i}`);
    const err = await rejection(
      waiters.wait(spec({ domain: 'd1', awaited: 'console domU1: waiting for /never/', deadline: Deadline.after(30), tailOf: 'all' })).promise,
    );
    expect(err).toBeInstanceOf(ConsoleTimeout);
    expect(err.message).toMatch(/^console domU1: waiting for \/never\/: deadline passed after 0\.\d s; last lines of all:\n/);
    const detail = (err as ConsoleTimeout).detail;
    expect(detail.consoleTail?.split('\n')).toEqual([
      expect.stringMatching(/^\+ +0\.030s domU1\| boot line 3$/),
      expect.stringMatching(/ domU1\| boot line 4$/),
      expect.stringMatching(/ domU1\| boot line 5$/),
    ]);
    expect(detail.logFile).toBe('logs/console-all.log');
  });

  it('a wait that can no longer succeed fails at once and leaves nothing pending', async () => {
    const dead = new Error('the console was closed');
    const { waiters, spec } = setup((domain) => {
      if (domain === 'd1') throw dead;
    });
    const timers = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
    const before = timers();
    const wait = waiters.wait(spec({ domain: 'd1', partial: true }));
    expect(timers()).toBe(before);
    expect(waiters.wantPartial).toBe(false);
    expect(await rejection(wait.promise)).toBe(dead);
  });

  it('fail rejects only the waits it has an error for, and says since when each was pending', async () => {
    const { waiters, read, spec } = setup();
    read('dom0', 'a line');
    const onD1 = waiters.wait(spec({ domain: 'd1' }));
    read('dom0', 'another line');
    const onDom0 = waiters.wait(spec({ history: false }));
    const seen: { domain?: SourceId; since: number }[] = [];
    waiters.fail((w) => {
      seen.push({ domain: w.domain, since: w.since });
      return w.domain === 'd1' ? new Error(`domU1 died, pending since ${w.since}`) : undefined;
    });
    expect(seen).toEqual([
      { domain: 'd1', since: 1 },
      { domain: 'dom0', since: 2 },
    ]);
    expect((await rejection(onD1.promise)).message).toBe('domU1 died, pending since 1');
    expect(await pending(onDom0.promise)).toBe(true);
    read('dom0', 'ready at last');
    expect((await onDom0.promise).text).toBe('ready at last');
  });

  it('cancel gives a wait up: its timer is gone and its promise never settles', async () => {
    const { waiters, read, spec } = setup();
    const timers = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
    const before = timers();
    const wait = waiters.wait(spec({ history: false, deadline: Deadline.after(30) }));
    expect(timers()).toBe(before + 1);
    wait.cancel();
    expect(timers()).toBe(before);
    read('dom0', 'ready');
    expect(await pending(wait.promise)).toBe(true);
  });

  it('an armed wait that fails before anyone awaits it is no unhandled rejection, and still rejects for whoever awaits it', async () => {
    const { waiters, spec } = setup();
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      const wait = waiters.armed(spec({ history: false }));
      const closed = new Error('the console was closed');
      waiters.fail(() => closed);
      await new Promise((r) => setTimeout(r, 20));
      expect(unhandled).toEqual([]);
      expect(await rejection(wait.promise)).toBe(closed);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });
});
