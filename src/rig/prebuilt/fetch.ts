// Downloads for prebuilt bundles: one URL to one file, the whole transfer bounded by a
// deadline, so an unreachable or stalled server fails the run instead of hanging it.
import { createWriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { InfraError } from '../../errors.js';

/** How long one download may take, connection to last byte. Bundles are tens of MB. */
export const DOWNLOAD_TIMEOUT_MS = 10 * 60_000;

export async function download(url: URL, to: string, label: string, timeoutMs = DOWNLOAD_TIMEOUT_MS, maxBytes = Infinity): Promise<void> {
  const signal = AbortSignal.timeout(timeoutMs);
  try {
    const res = await fetch(url, { signal, redirect: 'follow' });
    if (!res.ok || !res.body) throw new Error(`HTTP ${res.status} ${res.statusText}`);
    let seen = 0;
    // A server that sends more than we will ever accept is cut off, whatever it announced.
    const bounded = new Transform({
      transform(chunk: Buffer, _enc, done) {
        seen += chunk.length;
        done(seen > maxBytes ? new Error(`more than ${maxBytes} bytes`) : null, chunk);
      },
    });
    await pipeline(Readable.fromWeb(res.body as WebReadableStream<Uint8Array>), bounded, createWriteStream(to), { signal });
  } catch (cause) {
    await rm(to, { force: true });
    const why = signal.aborted ? `no complete answer within ${Math.round(timeoutMs / 1000)} s` : describeFetchError(cause as Error);
    throw new InfraError(`${label}: cannot download ${url.href}: ${why}`, { cause });
  }
}

/** Downloads a small text file (a manifest) into memory, with the same deadline rules. */
export async function downloadText(url: URL, label: string, timeoutMs = DOWNLOAD_TIMEOUT_MS, maxBytes = 16 * 1024 * 1024): Promise<string> {
  const signal = AbortSignal.timeout(timeoutMs);
  try {
    const res = await fetch(url, { signal, redirect: 'follow' });
    if (!res.ok || !res.body) throw new Error(`HTTP ${res.status} ${res.statusText}`);
    const parts: Buffer[] = [];
    let seen = 0;
    for await (const chunk of Readable.fromWeb(res.body as WebReadableStream<Uint8Array>)) {
      seen += (chunk as Buffer).length;
      if (seen > maxBytes) throw new Error(`more than ${maxBytes} bytes`);
      parts.push(chunk as Buffer);
    }
    return Buffer.concat(parts).toString('utf8');
  } catch (cause) {
    const why = signal.aborted ? `no complete answer within ${Math.round(timeoutMs / 1000)} s` : describeFetchError(cause as Error);
    throw new InfraError(`${label}: cannot download ${url.href}: ${why}`, { cause });
  }
}

// fetch() reports "fetch failed" and hides the reason (ECONNREFUSED, ENOTFOUND) in cause.
function describeFetchError(e: Error): string {
  const inner = (e as { cause?: { code?: string; message?: string } }).cause;
  return inner?.code ? `${e.message} (${inner.code})` : inner?.message ? `${e.message} (${inner.message})` : e.message;
}
