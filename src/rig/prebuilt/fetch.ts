// Downloads of untrusted bundles: one URL to one file (or a small text), the whole transfer
// bounded by a deadline and by a byte limit, redirects followed only where the caller allows.
// A failure a moment can mend (a reset connection, a 503) is retried a few times within the
// same deadline (retry.ts says which and how long to wait). An unreachable or stalled server
// is an InfraError; a server that breaks the rules (too many bytes, a redirect elsewhere) is
// refused as a ConfigError naming the URL, at once: retrying would not make it honest.
import { createWriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { ConfigError, InfraError } from '../../errors.js';
import { HttpStatusError, parseRetryAfter, RETRY_POLICY, RetriesSpent, withRetries, type RetryPolicy } from './retry.js';

/** How long one download may take, connection to last byte, retries and their waits included. Bundles are tens of MB. */
export const DOWNLOAD_TIMEOUT_MS = 10 * 60_000;

/**
 * Which redirects a download follows. Bundles: only within the origin the user named, so a
 * server cannot send us to another host (or an internal address). Published rigs: any https
 * origin, because GitHub serves release assets from a host of its own.
 */
export type RedirectRule = 'same-origin' | 'https';

export interface DownloadRules {
  redirects: RedirectRule;
  /** More than this many bytes is refused, whatever the server announced. */
  maxBytes: number;
  /** What maxBytes is, for the refusal ("the 10 bytes the manifest lists for Image (kernel)"); "N bytes" otherwise. */
  bound?: string;
  timeoutMs?: number;
  /** Where each retry is told, with its reason; the final error counts the attempts either way. */
  log?: (line: string) => void;
  /** Fewer attempts or shorter waits than RETRY_POLICY, for tests. */
  retry?: Partial<RetryPolicy>;
}

const MAX_REDIRECTS = 5;
const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]']);

/** https anywhere; http only from this machine (test servers, a mirror on the runner). */
export function isSecureOrLocal(url: URL): boolean {
  return url.protocol === 'https:' || (url.protocol === 'http:' && LOOPBACK.has(url.hostname));
}

export async function download(url: URL, to: string, label: string, rules: DownloadRules): Promise<void> {
  const attempt = async (signal: AbortSignal) => {
    const res = await get(url, label, rules, signal);
    let seen = 0;
    const bounded = new Transform({
      transform(chunk: Buffer, _enc, done) {
        seen += chunk.length;
        done(seen > rules.maxBytes ? tooMuch(url, label, rules) : null, chunk);
      },
    });
    // A fresh write stream truncates what a failed attempt left; a final failure leaves nothing.
    await pipeline(Readable.fromWeb(res.body as WebReadableStream<Uint8Array>), bounded, createWriteStream(to), { signal });
  };
  try {
    await transfer(url, label, rules, attempt);
  } catch (e) {
    await rm(to, { force: true });
    throw e;
  }
}

/** Downloads a small text file (a manifest, a checksum list) into memory, with the same rules. */
export async function downloadText(url: URL, label: string, rules: DownloadRules): Promise<string> {
  return transfer(url, label, rules, async (signal) => {
    const res = await get(url, label, rules, signal);
    const parts: Buffer[] = [];
    let seen = 0;
    for await (const chunk of Readable.fromWeb(res.body as WebReadableStream<Uint8Array>)) {
      seen += (chunk as Buffer).length;
      if (seen > rules.maxBytes) throw tooMuch(url, label, rules);
      parts.push(chunk as Buffer);
    }
    return Buffer.concat(parts).toString('utf8');
  });
}

/** Runs attempt, retrying what retry.ts calls transient, all within one deadline; a failure comes out as the module's header says. */
async function transfer<T>(url: URL, label: string, rules: DownloadRules, attempt: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const timeoutMs = rules.timeoutMs ?? DOWNLOAD_TIMEOUT_MS;
  const deadline = Date.now() + timeoutMs;
  const signal = AbortSignal.timeout(timeoutMs);
  try {
    return await withRetries(() => attempt(signal), {
      policy: { ...RETRY_POLICY, ...rules.retry },
      deadline,
      signal,
      ...(rules.log ? { log: rules.log } : {}),
      what: `${label}: ${url.href}`,
      describe: (e) => describeFetchError(e as Error),
    });
  } catch (cause) {
    throw failure(cause, url, label, signal, timeoutMs);
  }
}

/** The response for url after the redirects the rule allows; its body is there and is not too large by its own account. */
async function get(url: URL, label: string, rules: DownloadRules, signal: AbortSignal): Promise<Response> {
  let at = url;
  for (let hops = 0; ; hops++) {
    const res = await fetch(at, { signal, redirect: 'manual' });
    const location = res.status >= 300 && res.status < 400 ? res.headers.get('location') : null;
    if (location === null) {
      if (!res.ok || !res.body) {
        // Read no error page: it is not wanted, and cancelling frees the connection for a retry.
        await res.body?.cancel();
        throw new HttpStatusError(res.status, res.statusText, parseRetryAfter(res.headers.get('retry-after')));
      }
      const announced = Number(res.headers.get('content-length') ?? 0);
      if (announced > rules.maxBytes) {
        await res.body.cancel();
        throw tooMuch(url, label, rules);
      }
      return res;
    }
    await res.body?.cancel();
    const next = new URL(location, at);
    if (hops >= MAX_REDIRECTS) throw new ConfigError(`${label}: ${url.href} redirects more than ${MAX_REDIRECTS} times`);
    if (rules.redirects === 'same-origin' && next.origin !== url.origin) {
      throw new ConfigError(`${label}: ${url.href} redirects to another origin (${next.origin}); give that URL itself`);
    }
    if (!isSecureOrLocal(next)) throw new ConfigError(`${label}: ${url.href} redirects to ${next.origin}, which is neither https nor this machine`);
    at = next;
  }
}

function tooMuch(url: URL, label: string, rules: DownloadRules): ConfigError {
  return new ConfigError(`${label}: ${url.href} sends more than ${rules.bound ?? `${rules.maxBytes} bytes`}`);
}

function failure(cause: unknown, url: URL, label: string, signal: AbortSignal, timeoutMs: number): Error {
  if (cause instanceof ConfigError) return cause;
  const why = signal.aborted
    ? `no complete answer within ${Math.round(timeoutMs / 1000)} s`
    : cause instanceof RetriesSpent
      ? `${describeFetchError(cause.last as Error)} (${cause.why})`
      : describeFetchError(cause as Error);
  return new InfraError(`${label}: cannot download ${url.href}: ${why}`, { cause });
}

// fetch() reports "fetch failed" and hides the reason (ECONNREFUSED, ENOTFOUND) in cause.
function describeFetchError(e: Error): string {
  const inner = (e as { cause?: { code?: string; message?: string } }).cause;
  return inner?.code ? `${e.message} (${inner.code})` : inner?.message ? `${e.message} (${inner.message})` : e.message;
}
