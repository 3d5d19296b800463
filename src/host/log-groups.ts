// Foldable log sections for long work deep inside a stage (a rig's build steps). The run
// says once how its front end folds output (an Actions log group, a CLI heading); code far
// below folds its own steps without every function between passing that along. Actions
// groups do not nest, so a stage that lets its steps fold is not one group itself.
import { AsyncLocalStorage } from 'node:async_hooks';

export type LogGroup = <T>(title: string, fn: () => Promise<T>) => Promise<T>;

const current = new AsyncLocalStorage<LogGroup>();

/** Runs `fn` with `group` folding the steps that ask for it. */
export function withLogGroups<T>(group: LogGroup, fn: () => Promise<T>): Promise<T> {
  return current.run(group, fn);
}

/** Runs `fn` as a foldable section when the stage has a way to fold, else as it is. */
export function inLogGroup<T>(title: string, fn: () => Promise<T>): Promise<T> {
  const group = current.getStore();
  return group ? group(title, fn) : fn();
}
