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
}

export type FocusOutcome =
  | { ok: true; path: Focus[] }
  | { ok: false; reason: string; path: Focus[] };

/**
 * Switches until the banner names `target`. Gives up when a banner repeats a focus already seen
 * (a full cycle without the target: the domain has no console input) or when no banner comes
 * within `stepMs` (Xen stopped answering: focus lost).
 */
export async function moveFocus(port: FocusPort, target: Focus, deadline: Deadline, stepMs: number): Promise<FocusOutcome> {
  const path: Focus[] = [port.current()];
  const shown = () => path.map(focusName).join(' → ');
  while (port.current() !== target) {
    if (deadline.expired) {
      return { ok: false, path, reason: `cannot reach focus ${focusName(target)}: deadline passed (went ${shown()})` };
    }
    const got = await port.switchOnce(deadline.capped(stepMs));
    if (got === undefined) {
      return {
        ok: false,
        path,
        reason: `focus lost: no "Serial input to" banner after CTRL-a ×3 while moving to ${focusName(target)} (went ${shown()})`,
      };
    }
    const seenBefore = path.includes(got);
    path.push(got);
    if (got !== target && seenBefore) {
      return { ok: false, path, reason: `cannot reach focus ${focusName(target)}: Xen cycled ${shown()} without it` };
    }
  }
  return { ok: true, path };
}
