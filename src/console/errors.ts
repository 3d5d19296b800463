// The console's failures, as the shared classes (errors.ts) so the report files them as
// product failure or infrastructure error; the subclasses add which domain and what was awaited.
import { InfraError, ProductFailure } from '../errors.js';

/** A deadline passed while waiting on a domain's console. */
export class ConsoleTimeout extends ProductFailure {
  override name = 'ConsoleTimeout';
  constructor(
    readonly domain: string,
    /** What was awaited, already naming the domain (`console domU1: waiting for /ready/`). */
    readonly awaited: string,
    waitedMs: number,
    detail: { consoleTail: string; logFile?: string },
  ) {
    super(`${awaited}: deadline passed after ${(waitedMs / 1000).toFixed(1)} s; last lines of ${domain}:\n${detail.consoleTail}`, detail);
  }
}

/**
 * Input focus could not be moved to the wanted domain: the harness could not drive the
 * console, an infrastructure error (a dead Xen or guest shows as ConsoleFatal first).
 */
export class FocusError extends InfraError {
  override name = 'FocusError';
  constructor(
    message: string,
    readonly wanted: string,
    detail: { consoleTail: string; logFile?: string },
  ) {
    super(`${message}; last lines of the console:\n${detail.consoleTail}`, detail);
  }
}

/** Xen or a guest kernel printed a fatal pattern (panic, oops): pending waits are cut short. */
export class ConsoleFatal extends ProductFailure {
  override name = 'ConsoleFatal';
  constructor(
    /** The domain whose console printed the fatal line. */
    readonly domain: string,
    readonly what: string,
    readonly line: string,
    /** What the rejected caller was waiting for, and on which domain. */
    readonly awaited: string,
    detail: { consoleTail: string; logFile?: string },
  ) {
    super(`${awaited}: cut short by ${what} on ${domain}: ${line.trim()}; last lines of ${domain}:\n${detail.consoleTail}`, detail);
  }
}

/**
 * The serial stream ended or failed: QEMU exited or the socket broke. An infrastructure error,
 * because a product death (Xen panic, dom0 crash) is reported as ConsoleFatal before the end
 * of stream and takes precedence; an exit with no such line is the harness's or the host's.
 */
export class ConsoleClosed extends InfraError {
  override name = 'ConsoleClosed';
  constructor(
    reason: string,
    readonly awaited: string,
    detail: { consoleTail?: string; logFile?: string; cause?: unknown },
  ) {
    super(`${awaited}: ${reason}${detail.consoleTail ? `; last lines of the console:\n${detail.consoleTail}` : ''}`, detail);
  }
}
