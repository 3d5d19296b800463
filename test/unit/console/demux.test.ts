import { describe, expect, it } from 'vitest';
import { Demux, markCommand, moveFocus, parseBanner, splitGlued, type Focus } from '../../../src/console/index.js';
import { Deadline } from '../../../src/deadline.js';

const banner = (who: string) => `(XEN) *** Serial input to ${who} (type 'CTRL-a' three times to switch input)`;

describe('Demux', () => {
  it('counts unprefixed lines before the first banner as boot (Xen), after it as dom0', () => {
    const d = new Demux();
    expect(d.classify('U-Boot 2023.01')).toMatchObject({ source: 'xen', via: 'boot' });
    expect(d.classify(banner('DOM0'))).toMatchObject({ source: 'xen', banner: 'dom0' });
    expect(d.classify('[    0.000000] Booting Linux')).toMatchObject({ source: 'dom0', via: 'unprefixed' });
  });

  it('reads unfocused domU lines in both formats', () => {
    const d = new Demux({ handedOver: true, focus: 'dom0' });
    expect(d.classify('(XEN) DOM1: [    0.1] hello')).toMatchObject({ source: 'd1', text: '[    0.1] hello' });
    expect(d.classify('(d2) [  516.6] pci 0001:00:00.0')).toMatchObject({ source: 'd2', text: '[  516.6] pci 0001:00:00.0' });
    expect(d.classify('(XEN) [  12.000000] DOM3: ts')).toMatchObject({ source: 'd3', text: 'ts' });
  });

  it('gives bare (XEN) lines to the focused domU but keeps Xen’s own shapes as Xen’s', () => {
    const d = new Demux({ handedOver: true, focus: 'dom0' });
    expect(d.classify('(XEN) plain xen line')).toMatchObject({ source: 'xen' });
    d.classify(banner('DOM1'));
    expect(d.focus).toBe('d1');
    expect(d.classify('(XEN) Linux (none) 6.1.0')).toMatchObject({ source: 'd1', via: 'focus', text: 'Linux (none) 6.1.0' });
    expect(d.classify('(XEN) ')).toMatchObject({ source: 'd1', text: '' });
    for (const own of [
      'd1v0 Unhandled SMC/HVC: 0x84000050',
      'd0v1: vGICD: unhandled word write',
      'vGICD: unhandled word write 0x000000ffffffff to ICACTIVER0',
      'arch/arm/traps.c:2000: bug',
      'Panic on CPU 0:',
      'EVTCHNOP failure: domain 0, error -22',
    ]) {
      expect(d.classify(`(XEN) ${own}`).source).toBe('xen');
    }
    expect(d.classify('(XEN) DOM2: other domU')).toMatchObject({ source: 'd2' });
    expect(d.classify('unprefixed')).toMatchObject({ source: 'dom0' });
    d.classify(banner('Xen'));
    expect(d.classify('(XEN) key handler output')).toMatchObject({ source: 'xen' });
  });

  it('peek does not move focus', () => {
    const d = new Demux({ handedOver: true, focus: 'dom0' });
    expect(d.peek(banner('DOM1')).banner).toBe('d1');
    expect(d.focus).toBe('dom0');
  });

  it('parses banners anywhere in a line, including newer forms', () => {
    expect(parseBanner(banner('Xen'))).toBe('xen');
    expect(parseBanner('~ # *** Serial input to DOM12 (type')).toBe('d12');
    expect(parseBanner('*** Serial input to d3 (type')).toBe('d3');
    expect(parseBanner('*** LOADING DOMU cpus=1')).toBeUndefined();
  });

  it('cuts a Xen line glued behind a dom0 prompt', () => {
    expect(splitGlued(`~ # ${banner('DOM1')}`)).toEqual(['~ # ', banner('DOM1')]);
    expect(splitGlued('(XEN) a (XEN) b')).toEqual(['(XEN) a ', '(XEN) b']);
    // dom0's prompt, then a focused domU's output that Xen printed without its prefix (a real boot).
    expect(splitGlued('dom0# Linux domU 6.12.8-xen-pvh-virtio #1 SMP aarch64 GNU/Linux')).toEqual(['dom0# ', 'Linux domU 6.12.8-xen-pvh-virtio #1 SMP aarch64 GNU/Linux']);
    expect(splitGlued(`dom0# ${banner('DOM1')}`)).toEqual(['dom0# ', banner('DOM1')]);
    expect(splitGlued('dom0# ')).toEqual(['dom0# ']);
    expect(splitGlued('(XEN) alone')).toEqual(['(XEN) alone']);
  });
});

describe('markCommand', () => {
  it('never lets the typed text match its own markers', () => {
    const m = markCommand('uname -a', 'abc123', 7);
    expect(m.typed).toBe("echo XPV''B-abc123-7; uname -a; echo XPV''E-abc123-7-$?");
    expect(m.begin.test(m.typed)).toBe(false);
    expect(m.end.test(m.typed)).toBe(false);
    expect(m.begin.test('XPVB-abc123-7')).toBe(true);
    expect(m.begin.test('XPVB-abc123-70')).toBe(false);
    expect(m.end.exec('XPVE-abc123-7-127')?.[1]).toBe('127');
    expect(m.end.test('XPVE-abc123-70-0')).toBe(false);
  });

  it('keeps a backgrounded or ;-terminated command valid shell', () => {
    expect(markCommand('sleep 9 &', 'n', 1).typed).toBe("echo XPV''B-n-1; sleep 9 & echo XPV''E-n-1-$?");
    expect(markCommand('a && b;  ', 'n', 1).typed).toBe("echo XPV''B-n-1; a && b; echo XPV''E-n-1-$?");
  });
});

describe('moveFocus', () => {
  // The port stands for Xen's cycle; moveFocus (the thing under test) is real.
  function xenCycle(order: Focus[], start: Focus, answers = true) {
    let at = order.indexOf(start);
    let switches = 0;
    return {
      get switches() {
        return switches;
      },
      port: {
        current: () => order[at] as Focus,
        switchOnce: async () => {
          switches++;
          if (!answers) return undefined;
          at = (at + 1) % order.length;
          return order[at];
        },
        awaitBanner: async () => undefined,
      },
    };
  }

  it('switches until the banner names the target', async () => {
    const x = xenCycle(['dom0', 'd1', 'd2', 'xen'], 'd1');
    const r = await moveFocus(x.port, 'dom0', Deadline.after(1000), 100);
    expect(r).toEqual({ ok: true, path: ['d1', 'd2', 'xen', 'dom0'] });
    expect(x.switches).toBe(3);
  });

  it('does nothing when the focus is already there', async () => {
    const x = xenCycle(['dom0', 'd1', 'xen'], 'd1');
    expect(await moveFocus(x.port, 'd1', Deadline.after(1000), 100)).toEqual({ ok: true, path: ['d1'] });
    expect(x.switches).toBe(0);
  });

  it('gives up after a full cycle without the target', async () => {
    const x = xenCycle(['dom0', 'd1', 'xen'], 'dom0');
    const r = await moveFocus(x.port, 'd5', Deadline.after(1000), 100);
    expect(r.ok).toBe(false);
    expect(!r.ok && r.reason).toMatch(/cannot reach focus DOM5: Xen cycled DOM0 → DOM1 → Xen → DOM0/);
  });

  it('reports focus lost when no banner answers', async () => {
    const x = xenCycle(['dom0', 'd1', 'xen'], 'dom0', false);
    const r = await moveFocus(x.port, 'd1', Deadline.after(1000), 100);
    expect(!r.ok && r.reason).toMatch(/^focus lost: no "Serial input to" banner/);
  });
});
