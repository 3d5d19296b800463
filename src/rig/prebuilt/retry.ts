// When a download is worth another attempt, and how long to wait before it. Only failures
// that a moment can mend are retried: a connection reset or closed after it was made, a
// stall the HTTP client timed out, a server that says it is busy or broken for now (408,
// 429, most 5xx). A server that answers "no" (404, 403), a refused or unknown host, a
// download over its limit or a redirect we refuse is final at once: asking again would only
// delay the same answer, and a runner without network must fall back (build) without delay.
import { setTimeout as sleep } from 'node:timers/promises';

export interface RetryPolicy {
  /** Attempts in all, the first included. */
  attempts: number;
  /** The wait before the first retry; each later one doubles it. Jitter takes up to half off. */
  firstDelayMs: number;
  /** The longest wait this side accepts, the server's Retry-After included. */
  maxWaitMs: number;
}

export const RETRY_POLICY: RetryPolicy = { attempts: 4, firstDelayMs: 1000, maxWaitMs: 60_000 };

/** An HTTP answer other than success or a redirect, with the wait the server asked for, if any. */
export class HttpStatusError extends Error {
  constructor(
    readonly status: number,
    statusText: string,
    readonly retryAfterMs?: number,
  ) {
    super(`HTTP ${status} ${statusText}`.trimEnd());
  }
}

/** Every retry but the last stopped: the last failure, how many attempts were made, and why no more. */
export class RetriesSpent extends Error {
  constructor(
    readonly last: unknown,
    readonly attempts: number,
    readonly why: string,
  ) {
    super(`${(last as Error).message} (${why})`, { cause: last });
  }
}

/**
 * Network failures a moment can mend, by the code Node or undici gives them. ECONNREFUSED
 * and ENOTFOUND are not among them: nothing listens there, or no such host, which seconds
 * rarely change, and the published-rig probe must give way to a build at once without network.
 */
const TRANSIENT_CODES = new Set([
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EAI_AGAIN',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
]);

/** 501 and 505 are 5xx that say "never": this server does not do what was asked. */
function transientStatus(status: number): boolean {
  return status === 408 || status === 429 || (status >= 500 && status <= 599 && status !== 501 && status !== 505);
}

/** The code of a failure or of what caused it (fetch() hides the socket's error in `cause`). */
function codeOf(e: unknown): string | undefined {
  for (let at = e, depth = 0; at && depth < 4; at = (at as { cause?: unknown }).cause, depth++) {
    const code = (at as { code?: unknown }).code;
    if (typeof code === 'string') return code;
  }
  return undefined;
}

/** Whether a failed attempt is worth another, and the wait the server asked for. */
export function transient(e: unknown): { retryAfterMs?: number } | undefined {
  if (e instanceof HttpStatusError) return transientStatus(e.status) ? { retryAfterMs: e.retryAfterMs } : undefined;
  const code = codeOf(e);
  return code !== undefined && TRANSIENT_CODES.has(code) ? {} : undefined;
}

/** Retry-After in ms: delay-seconds or an HTTP date (RFC 9110 §10.2.3); undefined when absent or unreadable. */
export function parseRetryAfter(value: string | null, now = Date.now()): number | undefined {
  const v = value?.trim();
  if (!v) return undefined;
  if (/^\d+$/.test(v)) return Number(v) * 1000;
  // Every HTTP date form starts with the day's name; Date.parse alone would take "-5" for a year.
  const at = /^[A-Za-z]{3}/.test(v) ? Date.parse(v) : NaN;
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/** The wait before retry n (1 = the first): doubling from firstDelayMs, less a random part so that many runners do not return in step. */
export function backoffMs(n: number, policy: RetryPolicy, random = Math.random): number {
  const full = Math.min(policy.firstDelayMs * 2 ** (n - 1), policy.maxWaitMs);
  return Math.round(full * (1 - random() / 2));
}

export interface RetryContext {
  policy: RetryPolicy;
  /** When the whole download must be over (ms since the epoch): no wait may run past it. */
  deadline: number;
  signal: AbortSignal;
  /** Tells of each retry and its reason. */
  log?: (line: string) => void;
  /** What is being fetched, for the log: "<label>: <url>". */
  what: string;
  /** A failure in a few words, for the log ("HTTP 503 Service Unavailable", "fetch failed (ECONNRESET)"). */
  describe: (e: unknown) => string;
}

/**
 * Runs attempt until it succeeds, a failure is final, or the policy says no more. A final
 * failure is thrown as it is; a transient one that may not be retried is thrown as RetriesSpent.
 */
export async function withRetries<T>(attempt: () => Promise<T>, ctx: RetryContext): Promise<T> {
  const { policy } = ctx;
  for (let n = 1; ; n++) {
    try {
      return await attempt();
    } catch (e) {
      const again = ctx.signal.aborted ? undefined : transient(e);
      if (!again) throw e;
      if (n >= policy.attempts) throw new RetriesSpent(e, n, `gave up after ${n} attempt${n === 1 ? '' : 's'}`);
      const asked = again.retryAfterMs;
      if (asked !== undefined && asked > policy.maxWaitMs) {
        throw new RetriesSpent(e, n, `the server asks to retry after ${seconds(asked)} s, longer than the ${seconds(policy.maxWaitMs)} s we wait`);
      }
      const wait = asked ?? backoffMs(n, policy);
      if (Date.now() + wait >= ctx.deadline) throw new RetriesSpent(e, n, `no time left for attempt ${n + 1} before the deadline`);
      ctx.log?.(
        `${ctx.what}: ${ctx.describe(e)}; attempt ${n + 1} of ${policy.attempts} in ${seconds(wait)} s${asked !== undefined ? ', as its Retry-After asks' : ''}`,
      );
      await sleep(wait, undefined, { signal: ctx.signal });
    }
  }
}

function seconds(ms: number): string {
  return ms % 1000 === 0 ? String(ms / 1000) : (ms / 1000).toFixed(1);
}
