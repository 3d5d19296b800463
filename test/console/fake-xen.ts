// A small stand-in for Xen's serial console on the far end of a real socket, used ONLY to
// exercise the focus-switching, typing and run/marker mechanics: it cycles focus on CTRL-a ×3
// with Xen's banners, echoes each typed byte as ash's line editor does once the shell has read
// it (a domU reads from a 32-byte FIFO that drops what overflows), erases the line on CTRL-U,
// runs a handful of shell commands, and prints domU output the way Xen 4.17 does (focused
// `(XEN) `, else `(XEN) DOM1: `).
import type { Socket } from 'node:net';

type Target = 'dom0' | 'd1' | 'xen';
const CYCLE: Target[] = ['dom0', 'd1', 'xen'];
const BANNER = (t: Target) =>
  `(XEN) *** Serial input to ${t === 'xen' ? 'Xen' : t === 'dom0' ? 'DOM0' : 'DOM1'} (type 'CTRL-a' three times to switch input)`;

export interface FakeXenOptions {
  /** dom0 shows `login:` instead of the ready line. */
  dom0Login?: boolean;
  /** Echo lines longer than this are wrapped onto several lines (ash at a narrow width). */
  wrapAt?: number;
  /** Xen stops answering CTRL-a (focus lost). */
  deafToSwitch?: boolean;
  /** How fast the domU drains its 32-byte input FIFO. */
  domUDrainMsPerByte?: number;
  /** The typed byte at this index (counting every byte typed to a shell) is lost or arrives as `#`, once. */
  garble?: { at: number; kind: 'drop' | 'corrupt' };
  /**
   * The race a real run logged: leaving DOM1, its ash has just printed its prompt and the ESC
   * of its cursor query when Xen's banner comes, unprefixed, on the same line.
   */
  escBeforeBanner?: boolean;
}

interface Shell {
  line: string;
  status: number;
  loggedIn: boolean;
  dead: boolean;
}

export class FakeXen {
  focus: Target = 'dom0';
  /** Sizes of the reads the far end saw, with their time. */
  readonly reads: { t: number; bytes: number }[] = [];
  dropped = 0;
  maxBacklog = 0;
  /** Bytes typed to either shell, for the garble option. */
  private typed = 0;
  private readonly fifo: string[] = [];
  private draining?: NodeJS.Timeout;
  private lastDrain = Date.now();
  private ctrlA = 0;
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly shells: Record<'dom0' | 'd1', Shell>;

  constructor(
    private readonly sock: Socket,
    private readonly opts: FakeXenOptions = {},
  ) {
    this.shells = {
      dom0: { line: '', status: 0, loggedIn: !opts.dom0Login, dead: false },
      d1: { line: '', status: 0, loggedIn: true, dead: false },
    };
    sock.on('data', (b: Buffer) => this.input(b));
  }

  /** Prints a short dom0less boot up to both shells being ready. */
  boot(extraDom0Lines = 0): void {
    this.raw('U-Boot 2023.01\r\n- UART enabled -\r\n');
    this.xen('Xen version 4.17.5 (fake)');
    this.xen(BANNER('dom0').slice('(XEN) '.length));
    for (let i = 1; i <= extraDom0Lines; i++) this.dom0(`boot noise ${i}`);
    this.raw('(XEN) DOM1: [    1.000000] Booting Linux on physical CPU 0x0\r\n');
    if (this.opts.dom0Login) this.raw('\r\nDebian GNU/Linux 12 dom0 hvc0\r\n\r\ndom0 login: ');
    else this.dom0('xen-pvh-virtio: dom0 shell ready');
    this.raw('(XEN) DOM1: xen-pvh-virtio: domU shell ready\r\n');
    if (!this.opts.dom0Login) this.raw('~ # \x1b[6n');
  }

  /** Says something in a domain as if a background process printed it. */
  print(target: 'dom0' | 'd1' | 'xen', text: string): void {
    if (target === 'dom0') this.dom0(text);
    else if (target === 'd1') this.domU(text);
    else this.xen(text);
  }

  raw(s: string | Buffer): void {
    if (!this.sock.destroyed) this.sock.write(s);
  }

  stop(): void {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    clearTimeout(this.draining);
  }

  private xen(text: string): void {
    this.raw(`(XEN) ${text}\r\n`);
  }

  private dom0(text: string): void {
    this.raw(`${text}\r\r\n`);
  }

  private domU(text: string): void {
    this.raw(this.focus === 'd1' ? `(XEN) ${text}\r\n` : `(XEN) DOM1: ${text}\r\n`);
  }

  private later(ms: number, fn: () => void): void {
    const t = setTimeout(() => {
      this.timers.delete(t);
      fn();
    }, ms);
    this.timers.add(t);
  }

  private input(b: Buffer): void {
    this.reads.push({ t: Date.now(), bytes: b.length });
    for (const byte of b) {
      if (byte === 0x01) {
        if (++this.ctrlA === 3) {
          this.ctrlA = 0;
          if (!this.opts.deafToSwitch) {
            const leaving = this.focus;
            this.focus = CYCLE[(CYCLE.indexOf(this.focus) + 1) % CYCLE.length] as Target;
            if (leaving === 'd1' && this.opts.escBeforeBanner) this.raw(`(XEN) domU# \x1b${BANNER(this.focus).slice('(XEN) '.length)}\r\n`);
            else this.raw(`${BANNER(this.focus)}\r\n`);
          }
        }
        continue;
      }
      this.ctrlA = 0;
      if (this.focus === 'xen') continue;
      let ch = String.fromCharCode(byte);
      if (this.opts.garble && this.typed++ === this.opts.garble.at) {
        if (this.opts.garble.kind === 'drop') continue;
        ch = '#';
      }
      if (this.focus === 'd1') this.toFifo(ch);
      else this.key('dom0', ch);
    }
  }

  /** The domU's vpl011 FIFO: 32 bytes, read by the guest at a fixed rate; overflow is dropped. */
  private toFifo(ch: string): void {
    if (this.fifo.length >= 32) {
      this.dropped++;
      return;
    }
    if (this.fifo.length === 0) this.lastDrain = Date.now();
    this.fifo.push(ch);
    this.maxBacklog = Math.max(this.maxBacklog, this.fifo.length);
    if (!this.draining) this.draining = setTimeout(() => this.drain(), 1);
  }

  private drain(): void {
    this.draining = undefined;
    const perByte = this.opts.domUDrainMsPerByte ?? 0.05;
    const now = Date.now();
    const n = Math.max(1, Math.floor((now - this.lastDrain) / perByte));
    this.lastDrain = now;
    for (let i = 0; i < n && this.fifo.length > 0; i++) this.key('d1', this.fifo.shift()!);
    if (this.fifo.length > 0) this.draining = setTimeout(() => this.drain(), 1);
  }

  private key(target: 'dom0' | 'd1', ch: string): void {
    const shell = this.shells[target];
    if (shell.dead) return;
    if (!shell.loggedIn) {
      // getty's canonical mode: the line is echoed when it is complete.
      if (ch !== '\n' && ch !== '\r') {
        shell.line += ch;
        return;
      }
      const name = shell.line;
      shell.line = '';
      this.raw(`${name}\r\r\n`);
      if (name === 'root') {
        shell.loggedIn = true;
        this.raw('~ # \x1b[6n');
      } else this.raw('dom0 login: ');
      return;
    }
    // ash's line editor: each byte is echoed as it is read; the domU's through Xen's prefix.
    const lead = target === 'd1' ? '(XEN) ' : '';
    const wrap = this.opts.wrapAt ?? Infinity;
    if (ch === '\x15') {
      shell.line = '';
      this.raw(target === 'd1' ? '\r\n' : '\r\x1b[K~ # ');
      return;
    }
    if (ch !== '\n' && ch !== '\r') {
      const shown = (target === 'd1' ? '~ # ' : '') + shell.line;
      if (shell.line === '' && target === 'd1') this.raw(`${lead}~ # `);
      else if (shown.length > 0 && shown.length % wrap === 0) this.raw(`\r\n${lead}`);
      shell.line += ch;
      this.raw(ch);
      return;
    }
    const line = shell.line;
    shell.line = '';
    const out = (text: string) => (target === 'dom0' ? this.dom0(text) : this.domU(text));
    this.raw(target === 'dom0' ? '\r\r\n' : '\r\n');
    this.later(5, () => this.execute(target, line, out));
  }

  private execute(target: 'dom0' | 'd1', line: string, out: (text: string) => void): void {
    const shell = this.shells[target];
    const parts = line.split(';').map((p) => p.trim()).filter((p) => p !== '');
    const step = (i: number): void => {
      const part = parts[i];
      if (part === undefined || shell.dead) {
        if (!shell.dead && target === 'dom0') this.raw('~ # \x1b[6n');
        return;
      }
      const [cmd, ...args] = part.split(/\s+/);
      let delay = 1;
      switch (cmd) {
        case 'echo':
          out(args.join(' ').replace(/''/g, '').replace(/\$\?/g, String(shell.status)));
          shell.status = 0;
          break;
        case 'uname':
          out('Linux (none) 6.1.0-28-arm64 #1 SMP Debian 6.1.119-1 (2024-11-22) aarch64 GNU/Linux');
          shell.status = 0;
          break;
        case 'true':
          shell.status = 0;
          break;
        case 'false':
          shell.status = 1;
          break;
        case 'seq':
          for (let n = 1; n <= Number(args[0]); n++) out(`line ${n}`);
          shell.status = 0;
          break;
        case 'sleep':
          delay = Number(args[0]) * 1000;
          shell.status = 0;
          break;
        case 'crash':
          out('[   42.000000] Unable to handle kernel NULL pointer dereference at virtual address 0000000000000000');
          out('[   42.000100] Kernel panic - not syncing: Attempted to kill init! exitcode=0x0000000b');
          this.later(50, () => out('[   42.000200] SMP: stopping secondary CPUs'));
          shell.dead = true;
          return;
        default:
          out(`sh: ${cmd}: not found`);
          shell.status = 127;
      }
      this.later(delay, () => step(i + 1));
    };
    step(0);
  }
}
