// Moving Xen's serial input to a wanted domain. Xen cycles focus DOM0 → DOM1 → … → Xen → DOM0
// on each CTRL-a ×3 and prints a banner each time; the banner, not the keystrokes, is the proof.
import type { Deadline } from '../deadline.js';
import { focusName, type Focus } from './demux.js';

/** CTRL-a three times: one switch on a socket chardev (`mon:stdio` would need each doubled). */
export const SWITCH_INPUT = Buffer.from([0x01, 0x01, 0x01]);

/** What moveFocus needs from the console: the tracked focus and one switch at a time. */
export interface FocusPort {
  current(): Focus;
  /** Sends CTRL-a ×3; resolves with the focus the next banner names, or undefined if none came in time. */
  switchOnce(within: Deadline): Promise<Focus | undefined>;
  /** Sends nothing; resolves with the focus the next banner names, or undefined if none came in time. */
  awaitBanner(within: Deadline): Promise<Focus | undefined>;
}

export type FocusOutcome =
  | { ok: true; path: Focus[] }
  | { ok: false; reason: string; path: Focus[] };

/** Consecutive switches without a banner before focus counts as lost: one missed banner is recovered. */
export const MISSED_BANNERS_TOLERATED = 2;

/**
 * Switches until the banner names `target`, one CTRL-a ×3 at a time (Xen's cycle goes one
 * way, so the path is already the shortest). Each switch must be confirmed by its banner. A
 * switch whose banner does not come within twice `stepMs` is not trusted either way: the next
 * switch's banner says where focus is (`current()` follows every banner the console sees, a
 * late one included), so up to MISSED_BANNERS_TOLERATED misses in a row are recovered. Gives
 * up when Xen cycles through every focus it names without the target (the domain has no
 * console input) or stops answering (focus lost).
 */
export async function moveFocus(port: FocusPort, target: Focus, deadline: Deadline, stepMs: number): Promise<FocusOutcome> {
  const path: Focus[] = [port.current()];
  const shown = () => path.map((f) => (f === MISSED ? '?' : focusName(f))).join(' → ');
  let missed = 0;
  /** Foci confirmed by banners since the last miss: a repeat among them is a full cycle. */
  let confirmed: Focus[] = [port.current()];
  while (port.current() !== target) {
    if (deadline.expired) {
      return { ok: false, path: known(path), reason: `cannot reach focus ${focusName(target)}: deadline passed (went ${shown()})` };
    }
    // A banner that did not come in time may only be late: wait for it once more before
    // switching again, or the next switch would go one domain past where it should.
    const got = (await port.switchOnce(deadline.capped(stepMs))) ?? (await port.awaitBanner(deadline.capped(stepMs)));
    if (got === undefined) {
      path.push(MISSED);
      if (++missed >= MISSED_BANNERS_TOLERATED) {
        return {
          ok: false,
          path: known(path),
          reason: `focus lost: no "Serial input to" banner after CTRL-a ×3, ${missed} times in a row, while moving to ${focusName(target)} (went ${shown()})`,
        };
      }
      confirmed = [];
      continue;
    }
    missed = 0;
    path.push(got);
    if (port.current() === target) break;
    if (confirmed.includes(got)) {
      return { ok: false, path: known(path), reason: `cannot reach focus ${focusName(target)}: Xen cycled ${shown()} without it` };
    }
    confirmed.push(got);
  }
  return { ok: true, path: known(path) };
}

// A switch whose banner never came, in the path shown to people.
const MISSED = 'missed' as Focus;

function known(path: Focus[]): Focus[] {
  return path.filter((f) => f !== MISSED);
}
