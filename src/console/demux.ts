// Clean lines → the domain that printed them. Pure state machine: the only state is which
// domain holds Xen's serial input (focus) and whether Xen has handed the console over yet.
//
// The rule for `(XEN) ` lines, in order:
//  1. `(XEN) *** Serial input to …` is Xen's focus banner: Xen's own line, and it moves focus.
//  2. `(XEN) DOMn: …` (Xen 4.17–4.20, and master as measured here) is domU n's output printed
//     while it does not hold focus; `(dn) …` is the same for newer Xen and for guest hypercall
//     console writes.
//  3. Any other `(XEN) …` line belongs to the focused domU when a domU holds focus, unless it
//     has the shape of one of Xen's own runtime messages (a vcpu tag `dNvM`, a source location,
//     `***`, a panic or crash report). Xen prints a focused domU's vpl011 output through its own
//     printk, so the prefix alone cannot tell them apart; the focused domU is the only guest that
//     can print a bare `(XEN) ` line, while Xen's own messages after boot are few and shaped, so
//     erring towards the domU keeps command output whole and costs at worst a stray Xen warning
//     in the domU's log. Fatal patterns are checked on every line whatever its source.
//  4. With focus on dom0 or Xen, every `(XEN) ` line is Xen's.
// Lines without a prefix are dom0's (hvc0 goes through Xen unprefixed) once Xen has handed the
// console over, which it announces with the first banner; before that they are firmware and
// Xen's early boot (u-boot, the EFI loader, Xen's ASCII banner) and count as Xen's.

/** Where a line came from: Xen itself, dom0, or a domU by domid (`d1`, `d2`, …). */
export type SourceId = 'xen' | 'dom0' | `d${number}`;

/** Who receives the bytes typed on the serial port. Xen names the same set. */
export type Focus = SourceId;

/** How the source was decided, kept on each line so logs and tests can show the rule used. */
export type Attribution = 'prefix' | 'focus' | 'unprefixed' | 'boot';

export interface ClassifiedLine {
  source: SourceId;
  /** The domain's own text: Xen's `(XEN) `, `(XEN) DOMn: ` or `(dn) ` prefix removed. */
  text: string;
  /** The whole clean line as it appeared on the serial port. */
  line: string;
  via: Attribution;
  /** Set on a focus banner: the domain that now holds input. */
  banner?: Focus;
}

const XEN_PREFIX = '(XEN) ';
const BANNER = /\*\*\* Serial input to (?:(Xen)|DOM(\d+)|d(\d+))\b/;
// An optional Xen timestamp (console_timestamps=…) may sit between `(XEN) ` and `DOMn: `.
const UNFOCUSED_DOMU = /^(?:\[[^\]]*\] )?DOM(\d+): ?/;
const GUEST_PRINTK = /^\(d(\d+)\) ?/;
// Shapes of Xen's own runtime messages (see rule 3).
const XEN_OWN = [
  /^\*\*\*/,
  /^d\d+v\d+\b/,
  /^d\d+: /,
  /^(?:arch|common|drivers|include)\/\S+:\d+/,
  /^Panic on CPU/,
  /^\*{20,}/,
  /^----\[ Xen-/,
  /^Xen (?:BUG|WARN|call trace)/i,
  /^Assertion '/,
  /^Reboot in /,
  /^Hardware Dom0 /,
  /^(?:EVTCHNOP|PHYSDEVOP|GNTTABOP)\b/,
  /^vGIC[DR]: /,
  /^Unhandled SMC/,
];

export function sourceOfDomid(domid: number): SourceId {
  return domid === 0 ? 'dom0' : `d${domid}`;
}

export function domidOf(source: SourceId): number | undefined {
  if (source === 'dom0') return 0;
  if (source === 'xen') return undefined;
  return Number(source.slice(1));
}

/** Xen's name for a focus target, as in its banners. */
export function focusName(focus: Focus): string {
  return focus === 'xen' ? 'Xen' : `DOM${domidOf(focus)}`;
}

/** Parses a focus banner anywhere in a line; undefined when the line is not one. */
export function parseBanner(text: string): Focus | undefined {
  const m = BANNER.exec(text);
  if (!m) return undefined;
  if (m[1]) return 'xen';
  return sourceOfDomid(Number(m[2] ?? m[3]));
}

/**
 * dom0's prompt as our rigs set it (PS1). Printed without a newline, it can be followed on
 * the same line by a focused domU's output that Xen printed without its prefix (seen once in
 * a real boot: `dom0# Linux domU 6.12…`); cut there, the prompt is dom0's and the rest the domU's.
 */
const DOM0_PROMPT = 'dom0# ';

/**
 * Cuts a line where Xen started a line of its own in the middle of another: dom0 writes raw
 * bytes, so a prompt without newline (`~ # `) is followed on the same line by Xen's next
 * `(XEN) ` message. Each piece is then classified alone.
 */
export function splitGlued(text: string): string[] {
  const pieces: string[] = [];
  let from = 0;
  if (text.startsWith(DOM0_PROMPT) && text.length > DOM0_PROMPT.length) {
    pieces.push(DOM0_PROMPT);
    from = DOM0_PROMPT.length;
  }
  for (let at = text.indexOf(XEN_PREFIX, from + 1); at !== -1; at = text.indexOf(XEN_PREFIX, at + 1)) {
    pieces.push(text.slice(from, at));
    from = at;
  }
  pieces.push(text.slice(from));
  return pieces;
}

export interface DemuxState {
  focus: Focus;
  handedOver: boolean;
}

export class Demux {
  private state: DemuxState;

  /** Starts at power-on (Xen holds input, nothing handed over) unless told otherwise. */
  constructor(initial: Partial<DemuxState> = {}) {
    this.state = { focus: initial.focus ?? 'xen', handedOver: initial.handedOver ?? false };
  }

  get focus(): Focus {
    return this.state.focus;
  }

  get handedOver(): boolean {
    return this.state.handedOver;
  }

  /** Classifies one clean line (already split with splitGlued) and updates the focus. */
  classify(line: string): ClassifiedLine {
    const c = this.peek(line);
    if (c.banner) this.state = { focus: c.banner, handedOver: true };
    return c;
  }

  /** Classifies without moving focus: for a line still being received. */
  peek(line: string): ClassifiedLine {
    if (line.startsWith(XEN_PREFIX)) {
      const rest = line.slice(XEN_PREFIX.length);
      const banner = parseBanner(rest);
      if (banner) {
        return { source: 'xen', text: rest, line, via: 'prefix', banner };
      }
      const unfocused = UNFOCUSED_DOMU.exec(rest);
      if (unfocused) {
        return { source: sourceOfDomid(Number(unfocused[1])), text: rest.slice(unfocused[0].length), line, via: 'prefix' };
      }
      const focus = this.state.focus;
      if (this.state.handedOver && focus !== 'xen' && focus !== 'dom0' && !XEN_OWN.some((re) => re.test(rest))) {
        return { source: focus, text: rest, line, via: 'focus' };
      }
      return { source: 'xen', text: rest, line, via: 'prefix' };
    }
    // Xen omits its prefix on a banner that follows a focused domU's output (seen on 4.17):
    // a line that starts with the banner is still Xen's.
    if (line.startsWith('*** Serial input to ')) {
      const banner = parseBanner(line);
      if (banner) return { source: 'xen', text: line, line, via: 'prefix', banner };
    }
    const guest = GUEST_PRINTK.exec(line);
    if (guest) {
      return { source: sourceOfDomid(Number(guest[1])), text: line.slice(guest[0].length), line, via: 'prefix' };
    }
    if (!this.state.handedOver) return { source: 'xen', text: line, line, via: 'boot' };
    return { source: 'dom0', text: line, line, via: 'unprefixed' };
  }
}
