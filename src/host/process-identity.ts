// A process as we started it: its id alone names whatever process holds that id now, which on
// a self-hosted runner or after a long job may be someone else's. The kernel's start time
// (in clock ticks since boot) and the command line tell ours apart from a later holder.
import { readFileSync } from 'node:fs';

export interface ProcessIdentity {
  pid: number;
  /** /proc/<pid>/stat field 22: when the process started, in clock ticks after boot. */
  started: string;
  /** The command line, NUL-separated arguments joined by spaces, as /proc shows it. */
  command: string;
}

/** The identity of a live process, or undefined when it has ended (or /proc cannot say). */
export function identify(pid: number): ProcessIdentity | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name in parentheses may hold spaces and parentheses: count from the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const started = fields[19];
    // A zombie has ended; only its parent's wait is missing (an orphan's, when init is slow to reap).
    if (!started || fields[0] === 'Z') return undefined;
    const command = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean).join(' ');
    return { pid, started, command };
  } catch {
    return undefined;
  }
}

/** Whether the process with that id is still the one recorded (not gone, not a newcomer). */
export function stillOurs(recorded: ProcessIdentity): boolean {
  const now = identify(recorded.pid);
  return now !== undefined && now.started === recorded.started && now.command === recorded.command;
}

/** The recorded identities of the action state; anything malformed is dropped, never signalled. */
export function parseIdentities(text: string): ProcessIdentity[] {
  let data: unknown;
  try {
    data = JSON.parse(text || '[]');
  } catch {
    return [];
  }
  if (!Array.isArray(data)) return [];
  return data.filter(
    (x): x is ProcessIdentity =>
      typeof x === 'object' && x !== null && Number.isInteger((x as ProcessIdentity).pid) && (x as ProcessIdentity).pid > 1 &&
      typeof (x as ProcessIdentity).started === 'string' && typeof (x as ProcessIdentity).command === 'string',
  );
}

/** Whether a process with this id exists (one of another user's, which we may not signal, counts). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (cause) {
    return (cause as NodeJS.ErrnoException).code === 'EPERM';
  }
}
