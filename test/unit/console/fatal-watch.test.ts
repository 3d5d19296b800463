// The fatal watch with lines made by hand and a fake clock: which waits a death dooms, which
// death is reported, and the order in which waits and onFatal listeners hear of it.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { FATAL_PATTERNS, type ConsoleFatal, type Line, type SourceId } from '../../../src/console/index.js';
import { FatalWatch } from '../../../src/console/fatal-watch.js';
import { LineStore } from '../../../src/console/lines.js';
import { DomainNames } from '../../../src/console/names.js';

const GRACE_MS = 300;

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

function setup() {
  const names = new DomainNames([{ name: 'domU1', domid: 1 }]);
  const store = new LineStore(names, { historyLimit: 100, tailLines: 10 });
  const events: string[] = [];
  const watch = new FatalWatch({
    patterns: FATAL_PATTERNS,
    graceMs: GRACE_MS,
    names,
    evidence: (of) => ({ consoleTail: store.tail(of), logFile: `logs/console-${of}.log` }),
    cutShort: () => events.push('cut short'),
  });
  let seq = 0;
  /** A line as the console reads it: kept, then checked. */
  const read = (source: SourceId, text: string): number => {
    const line: Line = { seq: ++seq, source, text, line: text, t: seq, via: 'prefix', echo: false };
    store.add(line);
    watch.check(line);
    return line.seq;
  };
  return { watch, read, events };
}

describe('FatalWatch', () => {
  it("dooms at once the waits on a dead domain and those pending when it died, not other domains' later waits", () => {
    const { watch, read } = setup();
    const before = read('dom0', 'dom0 carries on');
    const died = read('d1', '[   42.0] Kernel panic - not syncing: Attempted to kill init!');
    read('dom0', 'dom0 still carries on');
    const after = died + 1;
    expect(watch.errorFor('d1', 'console domU1: waiting for /x/', Number.POSITIVE_INFINITY)?.message).toMatch(
      /^console domU1: waiting for \/x\/: cut short by kernel panic on domU1: \[ {3}42\.0\] Kernel panic - not syncing: Attempted to kill init!; last lines of domU1:\n/,
    );
    expect(watch.errorFor('dom0', 'a wait on dom0', before)?.message).toMatch(/^a wait on dom0: cut short by kernel panic on domU1/);
    expect(watch.errorFor('dom0', 'a wait on dom0', after)).toBeUndefined();
    expect(watch.errorFor('dom0', 'a new wait on dom0', Number.POSITIVE_INFINITY)).toBeUndefined();
    // A keystroke is not bound to a domain: a domU's death does not stop it.
    expect(watch.errorFor(undefined, 'typing', Number.POSITIVE_INFINITY)).toBeUndefined();
  });

  it('a Xen panic dooms every wait, keystrokes included', () => {
    const { watch, read } = setup();
    read('xen', 'Panic on CPU 0:');
    for (const domain of ['xen', 'dom0', 'd1', undefined] as const) {
      expect(watch.errorFor(domain, 'anything', Number.POSITIVE_INFINITY)?.message).toMatch(/^anything: cut short by Xen panic on xen: Panic on CPU 0:/);
    }
  });

  it("reports a domain's first death, not the panic that follows it", () => {
    const { watch, read } = setup();
    read('d1', 'Unable to handle kernel NULL pointer dereference at virtual address 0');
    read('d1', 'Kernel panic - not syncing: Fatal exception');
    expect(watch.errorFor('d1', 'w', Number.POSITIVE_INFINITY)?.what).toBe('kernel fault');
  });

  it('after the grace, cuts waits short first and then tells each listener of each fatal line, trace included', async () => {
    const { watch, read, events } = setup();
    const heard: ConsoleFatal[] = [];
    watch.onFatal('scenario s', (error) => {
      events.push('heard');
      heard.push(error);
    });
    read('d1', 'Unable to handle kernel paging request at virtual address 8');
    read('d1', 'Kernel panic - not syncing: Oops: Fatal exception');
    await vi.advanceTimersByTimeAsync(GRACE_MS / 2);
    read('d1', 'SMP: stopping secondary CPUs');
    expect(events).toEqual([]);
    await vi.advanceTimersByTimeAsync(GRACE_MS / 2);
    await vi.runAllTimersAsync();
    // One grace for the burst; every fatal line is announced.
    expect(events).toEqual(['cut short', 'heard', 'heard']);
    expect(heard.map((e) => e.what)).toEqual(['kernel fault', 'kernel panic']);
    expect(heard[0]!.message).toMatch(/^scenario s: cut short by kernel fault on domU1: Unable to handle kernel paging request/);
    expect(heard[0]!.detail.consoleTail).toContain('SMP: stopping secondary CPUs');
    expect(heard[0]!.detail.logFile).toBe('logs/console-d1.log');
  });

  it('an unsubscribed listener hears nothing more', async () => {
    const { watch, read } = setup();
    const heard: string[] = [];
    const off = watch.onFatal('s', (e) => heard.push(e.what));
    read('d1', 'Kernel panic - not syncing: one');
    await vi.runAllTimersAsync();
    off();
    read('xen', 'Panic on CPU 0:');
    await vi.runAllTimersAsync();
    expect(heard).toEqual(['kernel panic']);
  });

  it('stop cancels a running grace: nothing is cut short or announced', async () => {
    const { watch, read, events } = setup();
    watch.onFatal('s', () => events.push('heard'));
    read('xen', 'Panic on CPU 0:');
    watch.stop();
    await vi.runAllTimersAsync();
    expect(events).toEqual([]);
    // The death itself is still on record for whoever asks.
    expect(watch.errorFor('dom0', 'w', Number.POSITIVE_INFINITY)).toBeDefined();
  });

  it("at the end of the stream, Xen's death explains it better than a domain's earlier one", () => {
    const { watch, read } = setup();
    expect(watch.errorAtEnd('w')).toBeUndefined();
    read('d1', 'Kernel panic - not syncing: first');
    expect(watch.errorAtEnd('w')?.what).toBe('kernel panic');
    read('xen', 'Panic on CPU 1:');
    expect(watch.errorAtEnd('w')?.what).toBe('Xen panic');
  });

  it('does not take Xen\'s patterns from a guest nor a kernel\'s from Xen', () => {
    const { watch, read } = setup();
    read('dom0', 'Panic on CPU 0: (quoted by a guest)');
    read('xen', 'Kernel panic - not syncing: (quoted by Xen)');
    expect(watch.errorAtEnd('w')).toBeUndefined();
  });
});
