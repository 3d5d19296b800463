// The run's stop (its deadline, or a cancel) reaches the commands it starts, however deep in
// the rig build they are: the run sets it once around the stage, and the command runners
// read it here, instead of every function between them passing it along.
import { AsyncLocalStorage } from 'node:async_hooks';
import { InfraError } from '../errors.js';

const current = new AsyncLocalStorage<AbortSignal>();

/** Runs `fn` with `signal` as the stop of every command it starts. */
export function withStop<T>(signal: AbortSignal, fn: () => Promise<T>): Promise<T> {
  return current.run(signal, fn);
}

/** The stop of the stage this code runs in, if any. */
export function currentStop(): AbortSignal | undefined {
  return current.getStore();
}

/** Throws the stop's reason when it has come: a stopped run starts nothing new. */
export function throwIfStopped(signal = currentStop()): void {
  if (signal?.aborted) throw new InfraError(String(signal.reason));
}
