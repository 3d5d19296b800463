// A small stand-in for Xen's serial console on the far end of a real socket, used ONLY to
// exercise the focus-switching, typing and run/marker mechanics: it cycles focus on CTRL-a ×3
// with Xen's banners, echoes each typed byte as ash's line editor does once the shell has read
// it (a domU reads from a 32-byte FIFO that drops what overflows), erases the line on CTRL-U,
// runs a handful of shell commands, and prints domU output the way Xen 4.17 does (focused
// `(XEN) `, else `(XEN) DOM1: `).
import type { Socket } from 'node:net';

type DomU = `d${number}`;
type Shelled = 'dom0' | DomU;
type Target = Shelled | 'xen';
const BANNER = (t: Target) =>
  `(XEN) *** Serial input to ${t === 'xen' ? 'Xen' : t === 'dom0' ? 'DOM0' : `DOM${t.slice(1)}`} (type 'CTRL-a' three times to switch input)`;

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
  /** A line dom0's rc prints before its ready line (e.g. a boot fault). */
  dom0Says?: string;
  /** dom0's shell starts (banner, prompt) this long after its ready line, as busybox init's respawn does. */
  dom0ShellDelayMs?: number;
  /** How many domUs (d1 … dN), each with a shell; Xen cycles DOM0 → DOM1 → … → DOMN → Xen. */
  domUs?: number;
  /** Focus switches (counting from 0) whose banner Xen never prints. */
  missBanners?: readonly number[];
  /** Focus switches whose banner comes this many ms late. */
  lateBanners?: Readonly<Record<number, number>>;
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
  /** The domU whose FIFO is being drained (input goes to the focused one). */
  private fifoOwner: DomU = 'd1';
  private draining?: NodeJS.Timeout;
  private lastDrain = Date.now();
  private ctrlA = 0;
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly shells: Partial<Record<Shelled, Shell>>;
  private readonly cycle: Target[];
  /** Focus switches so far, for the missed and late banner options. */
  private switches = 0;
  private bannersHeldUntil = 0;

  constructor(
    private readonly sock: Socket,
    private readonly opts: FakeXenOptions = {},
  ) {
    const domUs = Array.from({ length: opts.domUs ?? 1 }, (_, i) => `d${i + 1}` as DomU);
    this.cycle = ['dom0', ...domUs, 'xen'];
    this.shells = { dom0: { line: '', status: 0, loggedIn: !opts.dom0Login, dead: false } };
    for (const d of domUs) this.shells[d] = { line: '', status: 0, loggedIn: true, dead: false };
    sock.on('data', (b: Buffer) => this.input(b));
  }

  /** Prints a short dom0less boot up to both shells being ready. */
  boot(extraDom0Lines = 0): void {
    this.raw('U-Boot 2023.01\r\n- UART enabled -\r\n');
    this.xen('Xen version 4.17.5 (fake)');
    this.xen(BANNER('dom0').slice('(XEN) '.length));
    for (let i = 1; i <= extraDom0Lines; i++) this.dom0(`boot noise ${i}`);
    for (const d of this.domUList()) this.raw(`(XEN) DOM${d.slice(1)}: [    1.000000] Booting Linux on physical CPU 0x0\r\n`);
    if (this.opts.dom0Says) this.dom0(this.opts.dom0Says);
    if (this.opts.dom0Login) this.raw('\r\nDebian GNU/Linux 12 dom0 hvc0\r\n\r\ndom0 login: ');
    else this.dom0('xen-pvh-virtio: dom0 shell ready');
    for (const d of this.domUList()) this.raw(`(XEN) DOM${d.slice(1)}: xen-pvh-virtio: domU shell ready\r\n`);
    const shell = () => this.raw("\r\nBusyBox v1.35.0 (Debian 1:1.35.0-4+deb12u1+b1) built-in shell (ash)\r\r\nEnter 'help' for a list of built-in commands.\r\r\n\r\r\n~ # \x1b[6n");
    if (this.opts.dom0Login) return;
    if (this.opts.dom0ShellDelayMs !== undefined) this.later(this.opts.dom0ShellDelayMs, shell);
    else this.raw('~ # \x1b[6n');
  }

  /** Says something in a domain as if a background process printed it. */
  print(target: Target, text: string): void {
    if (target === 'dom0') this.dom0(text);
    else if (target === 'xen') this.xen(text);
    else this.domU(target, text);
  }

  private domUList(): DomU[] {
    return this.cycle.filter((t): t is DomU => t !== 'dom0' && t !== 'xen');
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

  private domU(d: DomU, text: string): void {
    this.raw(this.focus === d ? `(XEN) ${text}\r\n` : `(XEN) DOM${d.slice(1)}: ${text}\r\n`);
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
            this.focus = this.cycle[(this.cycle.indexOf(this.focus) + 1) % this.cycle.length] as Target;
            const n = this.switches++;
            const text = leaving !== 'dom0' && leaving !== 'xen' && this.opts.escBeforeBanner ? `(XEN) domU# \x1b${BANNER(this.focus).slice('(XEN) '.length)}\r\n` : `${BANNER(this.focus)}\r\n`;
            if (this.opts.missBanners?.includes(n)) continue;
            // Xen prints in order: a late banner holds back the banners after it too.
            const at = Math.max(Date.now(), this.bannersHeldUntil) + (this.opts.lateBanners?.[n] ?? 0);
            this.bannersHeldUntil = at;
            if (at > Date.now()) this.later(at - Date.now(), () => this.raw(text));
            else this.raw(text);
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
      if (this.focus === 'dom0') this.key('dom0', ch);
      else this.toFifo(this.focus, ch);
    }
  }

  /** The domU's vpl011 FIFO: 32 bytes, read by the guest at a fixed rate; overflow is dropped. */
  private toFifo(d: DomU, ch: string): void {
    this.fifoOwner = d;
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
    for (let i = 0; i < n && this.fifo.length > 0; i++) this.key(this.fifoOwner, this.fifo.shift()!);
    if (this.fifo.length > 0) this.draining = setTimeout(() => this.drain(), 1);
  }

  private key(target: Shelled, ch: string): void {
    const shell = this.shells[target]!;
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
    const domU = target !== 'dom0';
    const lead = domU ? (this.focus === target ? '(XEN) ' : `(XEN) DOM${target.slice(1)}: `) : '';
    const wrap = this.opts.wrapAt ?? Infinity;
    if (ch === '\x15') {
      shell.line = '';
      this.raw(domU ? '\r\n' : '\r\x1b[K~ # ');
      return;
    }
    if (ch !== '\n' && ch !== '\r') {
      const shown = (domU ? '~ # ' : '') + shell.line;
      if (shell.line === '' && domU) this.raw(`${lead}~ # `);
      else if (shown.length > 0 && shown.length % wrap === 0) this.raw(`\r\n${lead}`);
      shell.line += ch;
      this.raw(ch);
      return;
    }
    const line = shell.line;
    shell.line = '';
    const out = (text: string) => (target === 'dom0' ? this.dom0(text) : this.domU(target, text));
    this.raw(domU ? '\r\n' : '\r\r\n');
    this.later(5, () => this.execute(target, line, out));
  }

  private execute(target: Shelled, line: string, out: (text: string) => void): void {
    const shell = this.shells[target]!;
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
