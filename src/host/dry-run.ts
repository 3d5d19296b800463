// `plan` promises a dry run: nothing it does may change the machine (no package installs, no
// apt downloads, no cache writes). The code it shares with a run asks here whether it may,
// instead of every planner carrying a flag: the scope follows the async calls made inside it.
import { AsyncLocalStorage } from 'node:async_hooks';

const scope = new AsyncLocalStorage<true>();

/** Something the dry run could only know by changing the machine (downloading, installing). */
export class NeedsChange extends Error {
  override name = 'NeedsChange';
}

/** Runs fn with every change to the machine refused (NeedsChange) or skipped. */
export function withoutChanges<T>(fn: () => Promise<T>): Promise<T> {
  return scope.run(true, fn);
}

export function changesAllowed(): boolean {
  return scope.getStore() !== true;
}
