// Waiting for dom0's sshd: QEMU's hostfwd accepts TCP long before dropbear runs, so early
// attempts are reset or hang in the banner exchange. Each attempt is short and bounded,
// attempts back off, every failure reason is kept, and the run's deadline bounds them all.
import { performance } from 'node:perf_hooks';
import { Client } from 'ssh2';
import { Deadline } from '../deadline.js';
import { InfraError } from '../errors.js';
import { HostKeyChanged, HostKeyPin } from './host-key.js';

export interface ConnectOptions {
  host: string;
  port: number;
  username: string;
  /** OpenSSH-format private key (image/'s writeRunKeyPair writes one per run). */
  privateKey: Buffer | string;
  /** Until when to keep trying; a number is milliseconds from now. */
  deadline: Deadline | number;
  /** Longest one attempt may take from TCP connect to login; a hung banner costs no more. */
  attemptTimeoutMs?: number;
  /** The run's pinned host key; a fresh pin (trust on first use) when absent. */
  hostKey?: HostKeyPin;
  /** SSH-level keepalive, so a dom0 that stops answering ends the connection. 0 disables. */
  keepaliveIntervalMs?: number;
  keepaliveCountMax?: number;
  /** Logins refused in a row before giving up early: a server that answers and rejects the key will not change its mind. */
  maxAuthRejections?: number;
}

export const CONNECT_DEFAULTS = {
  attemptTimeoutMs: 10_000,
  keepaliveIntervalMs: 15_000,
  keepaliveCountMax: 4,
  maxAuthRejections: 3,
} as const;

/** One failed attempt: when it ended (ms since the first began) and why. */
export interface AttemptFailure {
  atMs: number;
  reason: string;
}

/** The deadline passed (or the key was refused) before any attempt logged in. */
export class SshUnreachable extends InfraError {
  override name = 'SshUnreachable';
  constructor(
    message: string,
    readonly attempts: readonly AttemptFailure[],
    cause?: unknown,
  ) {
    super(message, { cause });
  }
}

const FIRST_BACKOFF_MS = 250;
const MAX_BACKOFF_MS = 2_000;
// Beyond ssh2's own readyTimeout, in case it never reports: the attempt is ours to end.
const GUARD_SLACK_MS = 1_000;

export interface Connected {
  client: Client;
  hostKey: HostKeyPin;
  attempts: number;
}

/**
 * Connects and logs in, retrying until the deadline. `adopt` receives the client in the
 * same tick as its `ready` event, so the caller's listeners are on before anything else
 * can be emitted.
 */
export async function connectWithRetry(opts: ConnectOptions, adopt: (client: Client) => void): Promise<Connected> {
  const deadline = Deadline.from(opts.deadline);
  const pin = opts.hostKey ?? new HostKeyPin();
  const endpoint = `${opts.username}@${opts.host}:${opts.port}`;
  const attemptTimeoutMs = opts.attemptTimeoutMs ?? CONNECT_DEFAULTS.attemptTimeoutMs;
  const maxAuthRejections = opts.maxAuthRejections ?? CONNECT_DEFAULTS.maxAuthRejections;
  const started = performance.now();
  const failures: AttemptFailure[] = [];
  let lastError: unknown;
  let authRejections = 0;

  for (let attempt = 1; ; attempt++) {
    const remaining = deadline.remainingMs();
    if (remaining === 0) break;
    try {
      const client = await connectOnce(opts, pin, endpoint, Math.min(attemptTimeoutMs, remaining), adopt);
      return { client, hostKey: pin, attempts: attempt };
    } catch (err) {
      if (err instanceof HostKeyChanged) throw err;
      lastError = err;
      failures.push({ atMs: Math.round(performance.now() - started), reason: reasonOf(err) });
      authRejections = isAuthRejection(err) ? authRejections + 1 : 0;
      if (authRejections >= maxAuthRejections) {
        throw new SshUnreachable(
          `${endpoint} refused the run's key ${authRejections} times in a row (is it in dom0's authorized_keys?): ${reasonOf(err)}`,
          failures,
          err,
        );
      }
    }
    await pause(Math.min(FIRST_BACKOFF_MS * 2 ** Math.min(attempt - 1, 4), MAX_BACKOFF_MS, deadline.remainingMs()));
  }

  const last = failures.at(-1);
  throw new SshUnreachable(
    `SSH to ${endpoint} did not log in within ${Math.round(performance.now() - started)} ms ` +
      `(${failures.length} attempt${failures.length === 1 ? '' : 's'}); last failure: ${last?.reason ?? 'no attempt fitted in the deadline'}` +
      summarize(failures),
    failures,
    lastError,
  );
}

function connectOnce(
  opts: ConnectOptions,
  pin: HostKeyPin,
  endpoint: string,
  timeoutMs: number,
  adopt: (client: Client) => void,
): Promise<Client> {
  return new Promise<Client>((resolve, reject) => {
    const client = new Client();
    let presented: string | undefined;
    let mismatch: HostKeyChanged | undefined;
    let settled = false;

    const guard = setTimeout(() => fail(new Error(`no SSH login within ${timeoutMs} ms`)), timeoutMs + GUARD_SLACK_MS);
    const fail = (err: unknown): void => {
      if (settled) return;
      settled = true;
      clearTimeout(guard);
      client.removeAllListeners();
      // ssh2 may still report the torn-down socket; nobody needs to hear it.
      client.on('error', () => {});
      client.destroy();
      reject(mismatch ?? err);
    };
    client.once('ready', () => {
      if (settled) return;
      settled = true;
      clearTimeout(guard);
      client.removeAllListeners();
      if (presented !== undefined) pin.pin(presented);
      adopt(client);
      resolve(client);
    });
    client.on('error', fail);
    client.on('close', () => fail(new Error('connection closed before login')));

    client.connect({
      host: opts.host,
      port: opts.port,
      username: opts.username,
      privateKey: opts.privateKey,
      readyTimeout: timeoutMs,
      keepaliveInterval: opts.keepaliveIntervalMs ?? CONNECT_DEFAULTS.keepaliveIntervalMs,
      keepaliveCountMax: opts.keepaliveCountMax ?? CONNECT_DEFAULTS.keepaliveCountMax,
      hostVerifier: (key: Buffer): boolean => {
        presented = HostKeyPin.describe(key);
        if (pin.admits(presented)) return true;
        mismatch = new HostKeyChanged(endpoint, pin.fingerprint ?? '', presented);
        return false;
      },
    });
  });
}

function reasonOf(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const level = (err as { level?: unknown }).level;
  if (level === 'client-authentication') return `authentication failed (${err.message})`;
  return err.message;
}

function isAuthRejection(err: unknown): boolean {
  return err instanceof Error && (err as { level?: unknown }).level === 'client-authentication';
}

/** The distinct reasons seen, with counts, when there was more than one kind. */
function summarize(failures: readonly AttemptFailure[]): string {
  const counts = new Map<string, number>();
  for (const f of failures) counts.set(f.reason, (counts.get(f.reason) ?? 0) + 1);
  if (counts.size < 2) return '';
  return `\nreasons seen: ${[...counts].map(([reason, n]) => `${n}× ${reason}`).join('; ')}`;
}

function pause(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));
}
