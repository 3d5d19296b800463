// keep-alive-on-failure: after a failed or errored scenario the machine stays up for a while
// so a developer can look inside it, over SSH or on Xen's serial console, before it is gone.
import { shellQuote } from '../ssh/index.js';
import { formatDuration } from '../config/units.js';

export interface AttachPoint {
  sshPort: number;
  privateKeyPath: string;
  serialSocket: string;
}

export interface KeptMachine {
  attach: AttachPoint;
  /** Lets go of the serial socket: QEMU serves one client at a time, and now it is the user's. */
  releaseSerial(): Promise<void>;
  /** Settles when the machine exits by itself (a `poweroff` from the user ends the wait too). */
  exited: Promise<unknown>;
}

/** The commands a developer pastes to get in: SSH to dom0, and Xen's console (CTRL-a ×3 switches domains). */
export function attachCommands(p: AttachPoint): { ssh: string; serial: string } {
  return {
    ssh: `ssh -i ${shellQuote(p.privateKeyPath)} -p ${p.sshPort} -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null root@127.0.0.1`,
    serial: `socat -,raw,echo=0 UNIX-CONNECT:${shellQuote(p.serialSocket)}`,
  };
}

export type KeepAliveEnd = 'time up' | 'stopped' | 'machine exited';

/**
 * Keeps the machine up for at most `ms`, printing how to attach. Ends early when `signal`
 * aborts (SIGINT/SIGTERM, the run's timeout-minutes) or the machine exits; the caller still
 * tears everything down afterwards.
 */
export async function keepAlive(machine: KeptMachine, ms: number, opts: { signal: AbortSignal; info(line: string): void; scenario: string }): Promise<KeepAliveEnd> {
  if (opts.signal.aborted) return 'stopped';
  const { ssh, serial } = attachCommands(machine.attach);
  await machine.releaseSerial();
  opts.info(`${opts.scenario}: keep-alive-on-failure: the machine stays up for ${formatDuration(ms)} (SIGINT/SIGTERM ends it early)`);
  opts.info(`  dom0 over SSH: ${ssh}`);
  opts.info(`  serial console: ${machine.attach.serialSocket} (e.g. ${serial}; CTRL-a three times switches between Xen, dom0 and the domUs)`);
  let timer: NodeJS.Timeout | undefined;
  let onAbort = () => {};
  const end = await Promise.race([
    new Promise<KeepAliveEnd>((resolve) => (timer = setTimeout(() => resolve('time up'), ms))),
    new Promise<KeepAliveEnd>((resolve) => {
      onAbort = () => resolve('stopped');
      opts.signal.addEventListener('abort', onAbort, { once: true });
    }),
    machine.exited.then(() => 'machine exited' as const, () => 'machine exited' as const),
  ]);
  clearTimeout(timer);
  opts.signal.removeEventListener('abort', onAbort);
  opts.info(`${opts.scenario}: keep-alive-on-failure ended (${end}); stopping the machine`);
  return end;
}
