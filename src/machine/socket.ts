// Connecting to a unix socket that QEMU creates a little later than it starts.
import { existsSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { InfraError } from '../errors.js';

const POLL_MS = 50;

/** Polls until the socket accepts, the deadline passes, or `alive` says QEMU is gone. */
export async function connectWhenListening(path: string, deadlineMs: number, alive: () => boolean = () => true): Promise<Socket> {
  const started = Date.now();
  let lastError: unknown;
  while (Date.now() - started < deadlineMs && alive()) {
    if (existsSync(path)) {
      try {
        return await new Promise<Socket>((resolve, reject) => {
          const s = connect(path, () => {
            s.off('error', reject);
            resolve(s);
          });
          s.once('error', reject);
        });
      } catch (err) {
        lastError = err;
      }
    }
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
  const why = alive() ? `within ${deadlineMs} ms` : 'before QEMU exited';
  throw new InfraError(`QEMU did not open its socket ${path} ${why}`, { cause: lastError });
}
