// The Console against a live peer on a real socket. The peer is a small fake of Xen's console
// (fake-xen.ts), used only for the mechanics of focus switching, typing and markers; the
// real-stack checks boot the real machine (boot.test.ts).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { InfraError, ProductFailure } from '../../../src/errors.js';
import {
  Console,
  ConsoleClosed,
  ConsoleFatal,
  ConsoleTimeout,
  FocusError,
  serialDuplex,
  type ConsoleOptions,
} from '../../../src/console/index.js';
import { SerialPort } from '../../../src/machine/index.js';
import { FakeXen, type FakeXenOptions } from '../../support/fake-xen.js';
import { socketPair, type SocketPair } from '../../support/console-helpers.js';

const fast = { chunkBytes: 4, intervalMs: 1 };
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function rig(fake: FakeXenOptions = {}, opts: Partial<ConsoleOptions> = {}, bootNoise = 0) {
  const pair: SocketPair = await socketPair();
  const xen = new FakeXen(pair.qemu, fake);
  const console = new Console(pair.client, {
    logDir: join(pair.dir, 'logs'),
    domains: [{ name: 'domU1', domid: 1 }],
    pacing: fast,
    focusStepMs: 2000,
    ...opts,
  });
  cleanups.push(() => pair.dispose(), () => console.close(), () => xen.stop());
  xen.boot(bootNoise);
  await console.expect('xen', /Serial input to DOM0/, 2000);
  return { pair, xen, console };
}

/** The error `p` rejects with. Handled at once, so a rejection while the test awaits something else is not "unhandled". */
function rejection(p: Promise<unknown>): Promise<Error> {
  return p.then(
    () => {
      throw new Error('expected a rejection');
    },
    (err: unknown) => err as Error,
  );
}

describe('focus', () => {
  it('moves DOM0 → DOM1 with one CTRL-a ×3 and back through Xen', async () => {
    const { xen, console } = await rig();
    await console.focus('domU1', 3000);
    expect(xen.focus).toBe('d1');
    expect(console.currentFocus).toBe('d1');
    await console.focus('dom0', 3000);
    expect(xen.focus).toBe('dom0');
    expect(console.focusHistory.map((f) => f.focus)).toEqual(['dom0', 'd1', 'xen', 'dom0']);
  });

  it("moves on when DOM1's shell cut its escape sequence short just before Xen's banner", async () => {
    const { xen, console } = await rig({ escBeforeBanner: true });
    for (let i = 0; i < 3; i++) {
      await console.focus('domU1', 3000);
      await console.focus('dom0', 3000);
    }
    expect(xen.focus).toBe('dom0');
    expect(console.focusHistory.map((f) => f.focus).slice(0, 4)).toEqual(['dom0', 'd1', 'xen', 'dom0']);
  });

  it('fails clearly for a domain outside the cycle', async () => {
    const { console } = await rig();
    const err = await rejection(console.focus('d5', 3000));
    expect(err).toBeInstanceOf(FocusError);
    expect(err.message).toMatch(/cannot reach focus DOM5: Xen cycled DOM0 → DOM1 → Xen → DOM0/);
    expect(err.message).toContain('xen-pvh-virtio: dom0 shell ready');
  });

  it('reports focus lost when Xen stops answering CTRL-a', async () => {
    const { console } = await rig({ deafToSwitch: true }, { focusStepMs: 300 });
    const t = Date.now();
    const err = await rejection(console.focus('d1', 5000));
    expect(err).toBeInstanceOf(FocusError);
    // The harness could not drive the console: an infrastructure error, not the product's failure.
    expect(err).toBeInstanceOf(InfraError);
    expect(err.message).toMatch(/^focus lost: no "Serial input to" banner after CTRL-a ×3, 2 times in a row, while moving to DOM1 \(went DOM0 → \? → \?\)/);
    expect(Date.now() - t).toBeLessThan(1500);
  });
});

describe('run', () => {
  it('runs in the domU and in dom0, returning output and exit status', async () => {
    const { xen, console } = await rig();
    const r = await console.run('domU1', 'uname -a', 5000);
    expect(r.output).toEqual(['Linux (none) 6.1.0-28-arm64 #1 SMP Debian 6.1.119-1 (2024-11-22) aarch64 GNU/Linux']);
    expect(r.exitStatus).toBe(0);
    expect(xen.focus).toBe('d1');
    const f = await console.run('domU1', 'false', 5000);
    expect(f).toMatchObject({ output: [], exitStatus: 1 });
    const d0 = await console.run('dom0', 'seq 3', 5000);
    expect(d0).toMatchObject({ output: ['line 1', 'line 2', 'line 3'], exitStatus: 0 });
    expect(xen.focus).toBe('dom0');
    const missing = await console.run('dom0', 'nosuchcmd', 5000);
    expect(missing).toMatchObject({ output: ['sh: nosuchcmd: not found'], exitStatus: 127 });
    expect(xen.dropped).toBe(0);
  });

  it('runs one command at a time even when called concurrently', async () => {
    const { console } = await rig();
    const [a, b] = await Promise.all([console.run('dom0', 'seq 2', 5000), console.run('domU1', 'seq 1', 5000)]);
    expect(a.output).toEqual(['line 1', 'line 2']);
    expect(b.output).toEqual(['line 1']);
  });

  it('a caller whose deadline passes while another command runs gives up and passes the turn on', async () => {
    const { console } = await rig();
    const long = console.run('dom0', 'sleep 1', 5000);
    const t = Date.now();
    const err = await rejection(console.run('dom0', 'true', 400));
    expect(err).toBeInstanceOf(ConsoleTimeout);
    expect(err.message).toMatch(/console dom0: running `true` \(the console was busy with another command\)/);
    expect(Date.now() - t).toBeLessThan(900);
    expect((await long).exitStatus).toBe(0);
    expect((await console.run('dom0', 'seq 1', 5000)).output).toEqual(['line 1']);
  });

  it('never lets the echo of the typed command satisfy an expectation', async () => {
    const { console } = await rig();
    const waiting = rejection(console.expect('dom0', /hello-123/, 1500));
    const r = await console.run('dom0', 'true hello-123', 5000);
    expect(r.exitStatus).toBe(0);
    expect(await waiting).toBeInstanceOf(ConsoleTimeout);
    // The echo is in the log and history, flagged.
    expect(console.history('dom0').some((l) => l.echo && l.text.includes('hello-123'))).toBe(true);
  });

  it('never lets a wrapped echo satisfy an expectation either', async () => {
    const { console } = await rig({ wrapAt: 24 });
    const waiting = rejection(console.expect('domU1', /hello-123/, 1500));
    const r = await console.run('domU1', `true ${'pad '.repeat(6)}hello-123 ${'pad '.repeat(6)}`, 8000);
    expect(r).toMatchObject({ output: [], exitStatus: 0 });
    expect(await waiting).toBeInstanceOf(ConsoleTimeout);
  });
});

describe('expect and waitForShell', () => {
  it("ends the boot at a boot fault dom0's rc reports, as the product's failure, with its lines", async () => {
    const pair: SocketPair = await socketPair();
    const xen = new FakeXen(pair.qemu, { dom0Says: 'xen-pvh-virtio: boot fault: init-dom0less failed (exit 1)', dom0ShellDelayMs: 100 });
    const console = new Console(pair.client, { logDir: join(pair.dir, 'logs'), domains: [{ name: 'domU1', domid: 1 }], pacing: fast });
    cleanups.push(() => pair.dispose(), () => console.close(), () => xen.stop());
    // Whatever the harness waits for at that moment is cut short, within the fatal grace period.
    const waiting = rejection(console.expect('domU1', /never-printed/, 60_000));
    xen.boot();
    const err = await waiting;
    expect(err).toBeInstanceOf(ConsoleFatal);
    expect(err).toBeInstanceOf(ProductFailure);
    expect(err.message).toMatch(/cut short by a boot fault in dom0 \(the dom0less system did not come up\) on dom0: xen-pvh-virtio: boot fault: init-dom0less failed \(exit 1\)/);
  });

  it("counts dom0 ready once its shell's prompt follows the ready line, so its banner is not a domU's output", async () => {
    const { console } = await rig({ dom0ShellDelayMs: 400 });
    const t = Date.now();
    expect((await console.waitForShell('dom0', 3000)).how).toBe('ready-line');
    expect(Date.now() - t).toBeGreaterThanOrEqual(300);
    const r = await console.run('domU1', 'seq 2', 5000);
    expect(r.output).toEqual(['line 1', 'line 2']);
    expect(console.history('dom0').map((l) => l.text)).toContain("Enter 'help' for a list of built-in commands.");
  });

  it('finds lines printed before the call, consumes them, and sees new ones', async () => {
    const { xen, console } = await rig();
    const ready = await console.waitForShell('dom0', 2000);
    expect(ready.how).toBe('ready-line');
    expect((await console.waitForShell('domU1', 2000)).line.text).toBe('xen-pvh-virtio: domU shell ready');
    // Consumed: the same ready line does not satisfy a second wait.
    const again = console.expect('dom0', /shell ready/, 300);
    expect(await rejection(again)).toBeInstanceOf(ConsoleTimeout);
    const next = console.expect('domU1', /tick 2/, 2000);
    xen.print('d1', 'tick 1');
    xen.print('d1', 'tick 2');
    expect((await next).text).toBe('tick 2');
  });

  it('answers a login: prompt with root and proves the shell', async () => {
    const { console } = await rig({ dom0Login: true });
    const ready = await console.waitForShell('dom0', 5000);
    expect(ready.how).toBe('login');
    expect((await console.run('dom0', 'seq 1', 5000)).output).toEqual(['line 1']);
  });

  it('a passed deadline names the domain and what was awaited, with the last 40 lines', async () => {
    const { console } = await rig({}, {}, 60);
    const err = await rejection(console.expect('dom0', /never-printed/, 300));
    expect(err).toBeInstanceOf(ConsoleTimeout);
    expect(err).toBeInstanceOf(ProductFailure);
    expect(err.message).toMatch(/^console dom0: waiting for \/never-printed\/: deadline passed after 0\.\d s; last lines of dom0:/);
    expect(err.message).toContain('xen-pvh-virtio: dom0 shell ready');
    expect(err.message).toContain('boot noise 60');
    expect(err.message).not.toContain('boot noise 20\n');
    expect((err as ConsoleTimeout).detail.consoleTail?.split('\n')).toHaveLength(40);
  });
});

describe('fail fast', () => {
  it('a kernel panic rejects every pending wait within a second, with the tail', async () => {
    const { console } = await rig();
    const t = Date.now();
    const onDom0 = rejection(console.expect('dom0', /never-printed/, 30_000));
    const running = rejection(console.run('domU1', 'crash', 30_000));
    const [a, b] = [await onDom0, await running];
    expect(Date.now() - t).toBeLessThan(1000 + 500);
    for (const err of [a, b]) {
      expect(err).toBeInstanceOf(ConsoleFatal);
      expect(err.message).toMatch(/cut short by kernel fault on domU1: \[ {3}42\.000000\] Unable to handle kernel NULL pointer/);
      expect(err.message).toContain('Kernel panic - not syncing');
      // Collected during the grace: the line after the panic is in the tail too.
      expect(err.message).toContain('SMP: stopping secondary CPUs');
    }
    expect(a.message).toMatch(/^console dom0: waiting for \/never-printed\//);
    // The domU is dead for later waits; dom0 is not.
    expect(await rejection(console.expect('domU1', /x/, 5000))).toBeInstanceOf(ConsoleFatal);
    expect((await console.run('dom0', 'seq 1', 5000)).output).toEqual(['line 1']);
  });

  it('measures the fatal rejection delay', async () => {
    const { xen, console } = await rig();
    const pending = console.expect('dom0', /never-printed/, 30_000);
    const t = Date.now();
    xen.print('xen', 'Panic on CPU 0:');
    const err = await rejection(pending);
    expect(Date.now() - t).toBeLessThan(1000);
    expect(err).toBeInstanceOf(ConsoleFatal);
    expect(err.message).toContain('cut short by Xen panic on xen: Panic on CPU 0:');
  });

  it('announces a fatal line to onFatal listeners with no wait pending, once per fatal, after waits got their own', async () => {
    const { xen, console } = await rig();
    const heard: { error: ConsoleFatal; at: number }[] = [];
    const off = console.onFatal('scenario s', (error) => heard.push({ error, at: Date.now() }));
    const t = Date.now();
    xen.print('d1', 'Kernel panic - not syncing: sysrq triggered crash');
    await new Promise((r) => setTimeout(r, 1000));
    expect(heard).toHaveLength(1);
    expect(heard[0]!.at - t).toBeLessThan(1000);
    expect(heard[0]!.error.message).toMatch(/^scenario s: cut short by kernel panic on domU1: Kernel panic - not syncing: sysrq triggered crash; last lines of domU1:/);
    // A wait pending at the next fatal rejects with its own message before listeners hear it.
    const order: string[] = [];
    const pending = console.expect('dom0', /never-printed/, 30_000).catch(() => order.push('wait'));
    console.onFatal('second', () => order.push('listener'));
    off();
    xen.print('xen', 'Panic on CPU 0:');
    await pending;
    await new Promise((r) => setTimeout(r, 100));
    expect(order).toEqual(['wait', 'listener']);
    expect(heard).toHaveLength(1);
  });

  it('QEMU closing the socket rejects pending waits promptly as an infrastructure error', async () => {
    const { pair, console } = await rig();
    const pending = console.expect('domU1', /never-printed/, 30_000);
    const t = Date.now();
    pair.qemu.end();
    const err = await rejection(pending);
    expect(Date.now() - t).toBeLessThan(200);
    expect(err).toBeInstanceOf(ConsoleClosed);
    expect(err).toBeInstanceOf(InfraError);
    expect(err.message).toMatch(/^console domU1: waiting for \/never-printed\/: QEMU closed the serial console/);
    expect(err.message).toContain('domU1| xen-pvh-virtio: domU shell ready');
    expect(await rejection(console.run('dom0', 'true', 1000))).toBeInstanceOf(ConsoleClosed);
  });

  it('an end of stream after a Xen panic reports the panic, not the exit', async () => {
    const { xen, pair, console } = await rig();
    const pending = console.expect('dom0', /never-printed/, 30_000);
    xen.print('xen', 'Panic on CPU 1:');
    pair.qemu.end();
    expect(await rejection(pending)).toBeInstanceOf(ConsoleFatal);
  });
});

describe('pacing', () => {
  it('keeps at most chunkBytes in flight per write, so the 32-byte FIFO never overflows', async () => {
    const { xen, console } = await rig({ domUDrainMsPerByte: 2 }, { pacing: { chunkBytes: 4, intervalMs: 12 } });
    await console.focus('domU1', 3000);
    const before = xen.reads.length;
    const r = await console.run('domU1', `true ${'x'.repeat(120)}`, 20_000);
    expect(r.exitStatus).toBe(0);
    const reads = xen.reads.slice(before);
    expect(Math.max(...reads.map((x) => x.bytes))).toBeLessThanOrEqual(4);
    expect(xen.dropped).toBe(0);
    expect(xen.maxBacklog).toBeLessThanOrEqual(8);
  });

  it('the FIFO model does drop unpaced input (control)', async () => {
    const { xen, console } = await rig({ domUDrainMsPerByte: 2 }, { pacing: { chunkBytes: 4096, intervalMs: 0 } });
    const err = await rejection(console.run('domU1', `true ${'x'.repeat(120)}`, 1500));
    expect(err).toBeInstanceOf(ConsoleTimeout);
    expect(xen.dropped).toBeGreaterThan(0);
  });
});

describe('focus among four consoles (Xen, dom0, two domUs)', () => {
  const domains = [
    { name: 'domU1', domid: 1 },
    { name: 'domU2', domid: 2 },
  ];

  it('reaches every domain in Xen’s cycle order and runs on each', async () => {
    const { xen, console } = await rig({ domUs: 2 }, { domains });
    for (const [target, expected] of [['domU2', 'd2'], ['domU1', 'd1'], ['xen', 'xen'], ['dom0', 'dom0'], ['domU2', 'd2']] as const) {
      await console.focus(target, 5000);
      expect(xen.focus).toBe(expected);
    }
    // DOM0 → DOM1 → DOM2, DOM2 → Xen → DOM0 → DOM1, → DOM2 → Xen, → DOM0, → DOM1 → DOM2: one switch per step.
    expect(console.focusHistory.map((f) => f.focus)).toEqual(['dom0', 'd1', 'd2', 'xen', 'dom0', 'd1', 'd2', 'xen', 'dom0', 'd1', 'd2']);
    expect((await console.run('domU1', 'seq 1', 5000)).output).toEqual(['line 1']);
    expect((await console.run('domU2', 'seq 2', 5000)).output).toEqual(['line 1', 'line 2']);
    expect((await console.run('dom0', 'uname', 5000)).exitStatus).toBe(0);
  });

  it('recovers from a missed banner: the next switch’s banner says where focus is', async () => {
    // Switch 1 (DOM1 → DOM2) prints no banner.
    const { xen, console } = await rig({ domUs: 2, missBanners: [1] }, { domains, focusStepMs: 300 });
    await console.focus('xen', 5000);
    expect(xen.focus).toBe('xen');
    expect(console.currentFocus).toBe('xen');
    expect((await console.run('domU2', 'seq 1', 5000)).output).toEqual(['line 1']);
  });

  it('follows a late banner instead of switching past the target', async () => {
    // Switch 0's banner comes after the step deadline; the one after it on time.
    const { xen, console } = await rig({ domUs: 2, lateBanners: { 0: 500 } }, { domains, focusStepMs: 300 });
    await console.focus('domU2', 5000);
    // Wait out the late banner: it names DOM1, a step the console already took.
    await new Promise((r) => setTimeout(r, 400));
    expect(xen.focus).toBe('d2');
    expect((await console.run('domU2', 'seq 1', 5000)).output).toEqual(['line 1']);
    expect(xen.focus).toBe('d2');
  });

  it('ends with an infrastructure error when banners stop for good', async () => {
    const { console } = await rig({ domUs: 2, missBanners: [0, 1, 2, 3] }, { domains, focusStepMs: 200 });
    const err = await rejection(console.focus('domU2', 5000));
    expect(err).toBeInstanceOf(FocusError);
    expect(err).toBeInstanceOf(InfraError);
    expect(err.message).toMatch(/^focus lost: no "Serial input to" banner after CTRL-a ×3, 2 times in a row, while moving to DOM2/);
  });
});

describe('typing that cannot garble', () => {
  it.each(['corrupt', 'drop'] as const)('erases a line whose echo shows a %sed byte and types it again', async (kind) => {
    // Byte 30 of what is typed: inside the marked command, past the first chunks.
    const { xen, console } = await rig({ garble: { at: 30, kind } }, { echoQuietMs: 300 });
    const r = await console.run('domU1', 'seq 2', 10_000);
    expect(r).toMatchObject({ output: ['line 1', 'line 2'], exitStatus: 0 });
    expect(console.retypedLines).toBe(1);
    expect(xen.dropped).toBe(0);
    const log = readFileSync(console.logFile('domU1'), 'utf8');
    expect(log).toMatch(/\[xen-pvh-virtio\] typed line garbled \(echo "[^"]*"\): erasing it and typing it again \(attempt 2 of 3\)/);
    // The next command types cleanly.
    expect((await console.run('dom0', 'seq 1', 5000)).output).toEqual(['line 1']);
    expect(console.retypedLines).toBe(1);
  });

  it('gives up after three attempts with an infrastructure error that quotes the echo', async () => {
    // Unpaced input into a slow FIFO loses bytes on every attempt.
    const { console } = await rig({ domUDrainMsPerByte: 5 }, { pacing: { chunkBytes: 4096, intervalMs: 0 }, echoQuietMs: 200 });
    const err = await rejection(console.run('domU1', `true ${'x'.repeat(120)}`, 20_000));
    expect(err).toBeInstanceOf(InfraError);
    expect(err.message).toMatch(/^console domU1: typing `true x+`: the console echoed ".*" instead of what was typed, 3 times$/);
    expect(console.retypedLines).toBe(2);
  });

  it('sends each chunk only once the last one is echoed, so a slow FIFO never overflows', async () => {
    const { xen, console } = await rig({ domUDrainMsPerByte: 3 }, { pacing: { chunkBytes: 16, intervalMs: 0 } });
    const r = await console.run('domU1', `true ${'y'.repeat(200)}`, 20_000);
    expect(r.exitStatus).toBe(0);
    expect(xen.dropped).toBe(0);
    expect(xen.maxBacklog).toBeLessThanOrEqual(16);
    expect(console.retypedLines).toBe(0);
  });
});

describe('with machine/’s SerialPort', () => {
  it('drives the console through serialDuplex, and the machine’s exit ends it', async () => {
    const pair = await socketPair();
    const xen = new FakeXen(pair.qemu);
    xen.boot();
    await new Promise((r) => setTimeout(r, 50));
    // The real SerialPort reads first; the console joins late and gets the capture replayed.
    const port = new SerialPort(pair.client, join(pair.dir, 'serial.raw'));
    let exit!: () => void;
    const exited = new Promise<void>((r) => (exit = r));
    const console = new Console(serialDuplex(port, exited), { logDir: join(pair.dir, 'logs'), rawLog: false, pacing: fast });
    cleanups.push(() => pair.dispose(), () => port.close(), () => console.close(), () => xen.stop());
    expect((await console.waitForShell('d1', 2000)).how).toBe('ready-line');
    expect((await console.run('d1', 'uname -a', 5000)).output[0]).toMatch(/^Linux /);
    const pending = rejection(console.expect('dom0', /never-printed/, 30_000));
    exit();
    expect(await pending).toBeInstanceOf(ConsoleClosed);
  });
});

describe('lifecycle', () => {
  it('close rejects pending waits, detaches its listeners and leaves no timers', async () => {
    const timers = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
    const { pair, xen, console } = await rig();
    xen.stop();
    // Counted around synchronous code only, so no unrelated timer can come or go in between:
    // close() rejects and clears before its first await.
    const base = timers();
    const pending = rejection(console.expect('dom0', /never-printed/, 60_000));
    expect(timers()).toBe(base + 1);
    const closing = console.close();
    expect(timers()).toBe(base);
    await closing;
    expect(await pending).toBeInstanceOf(ConsoleClosed);
    expect(pair.client.listenerCount('data')).toBe(0);
  });

  it('writes clean per-domain logs and the raw bytes', async () => {
    const { pair, console } = await rig();
    await console.run('domU1', 'uname -a', 5000);
    await console.close();
    const { readFile } = await import('node:fs/promises');
    const d1 = await readFile(join(pair.dir, 'logs', 'console-domU1.log'), 'utf8');
    expect(d1).toMatch(/^\+ +\d+\.\d{3}s xen-pvh-virtio: domU shell ready$/m);
    expect(d1).toContain('Linux (none) 6.1.0-28-arm64');
    expect(d1).not.toContain('\r');
    const raw = await readFile(join(pair.dir, 'logs', 'console-raw.log'), 'latin1');
    expect(raw).toContain('\x1b[6n');
    expect(raw).toContain('\r\n');
    const all = await readFile(join(pair.dir, 'logs', 'console-all.log'), 'utf8');
    expect(all).toContain('xen  | *** Serial input to DOM1');
  });
});
