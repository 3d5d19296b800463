// Retries of bundle downloads, against a real loopback HTTP server whose answers each test
// scripts: what is retried (503, 429, a reset connection), what is final at once (404, too
// many bytes, a redirect elsewhere), and the waits (backoff, Retry-After, the deadline).
import type { IncomingMessage, ServerResponse } from 'node:http';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ConfigError, InfraError } from '../../../src/errors.js';
import { download, downloadText, type DownloadRules } from '../../../src/rig/prebuilt/fetch.js';
import { backoffMs, HttpStatusError, parseRetryAfter, RETRY_POLICY, transient } from '../../../src/rig/prebuilt/retry.js';
import { listenLoopback, type Loopback } from '../../support/http.js';

type Answer = (req: IncomingMessage, res: ServerResponse) => void;

const BODY = 'a bundle, 28 bytes of it ok\n';
const ok: Answer = (_req, res) => void res.writeHead(200, { 'content-length': Buffer.byteLength(BODY) }).end(BODY);
const status =
  (code: number, headers: Record<string, string> = {}): Answer =>
  (_req, res) =>
    void res.writeHead(code, headers).end('an error page');
const reset: Answer = (req) => req.socket.resetAndDestroy();
/** Headers and part of the body, then a reset: the failure comes while the body is read. */
const resetMidBody: Answer = (req, res) => {
  res.writeHead(200, { 'content-length': Buffer.byteLength(BODY) });
  res.write(BODY.slice(0, 10));
  setTimeout(() => req.socket.resetAndDestroy(), 20);
};

let http: Loopback;
let scratch: string;
/** The answers still to give, in order; the last one repeats. */
let script: Answer[] = [];
let requests = 0;

beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'xpv-fetch-'));
  http = await listenLoopback((req, res) => {
    requests++;
    const answer = script.length > 1 ? script.shift()! : script[0]!;
    answer(req, res);
  });
});

afterAll(async () => {
  await http.close();
  await rm(scratch, { recursive: true, force: true });
});

beforeEach(() => {
  requests = 0;
});

/** Rules with quick backoff (Retry-After is the server's, and stays as it says), collecting the log. */
function rules(over: Partial<DownloadRules> = {}): DownloadRules & { lines: string[] } {
  const lines: string[] = [];
  return { redirects: 'same-origin', maxBytes: 1024, log: (l) => lines.push(l), retry: { firstDelayMs: 10 }, lines, ...over };
}

async function failureOf(p: Promise<unknown>): Promise<Error> {
  return p.then(
    () => {
      throw new Error('the download succeeded');
    },
    (e: unknown) => e as Error,
  );
}

describe('download retries', () => {
  it('retries a 503 twice and then succeeds, logging each retry and its reason', async () => {
    script = [status(503), status(503), ok];
    const r = rules();
    const url = new URL(`${http.base}/rig.tar.gz`);
    const to = join(scratch, 'rig.tar.gz');
    await download(url, to, '--rig-path', r);
    expect(await readFile(to, 'utf8')).toBe(BODY);
    expect(requests).toBe(3);
    expect(r.lines).toHaveLength(2);
    expect(r.lines[0]).toMatch(new RegExp(`^--rig-path: ${url.href}: HTTP 503 Service Unavailable; attempt 2 of 4 in [0-9.]+ s$`));
    expect(r.lines[1]).toMatch(/: HTTP 503 Service Unavailable; attempt 3 of 4 in [0-9.]+ s$/);
  });

  it('does not retry a 404, nor any 4xx but 408 and 429', async () => {
    script = [status(404), ok];
    const r = rules();
    const url = new URL(`${http.base}/nothing.tar.gz`);
    const err = await failureOf(download(url, join(scratch, 'nothing.tar.gz'), '--rig-path', r));
    expect(err).toBeInstanceOf(InfraError);
    expect(err.message).toBe(`--rig-path: cannot download ${url.href}: HTTP 404 Not Found`);
    expect(requests).toBe(1);
    expect(r.lines).toEqual([]);
    await expect(stat(join(scratch, 'nothing.tar.gz'))).rejects.toThrow(/ENOENT/);

    script = [status(403), ok];
    await expect(downloadText(url, '--rig-path', rules())).rejects.toThrow('HTTP 403 Forbidden');
    expect(requests).toBe(2);
  });

  it('retries a connection reset before the answer and during the body, and keeps only the good copy', async () => {
    script = [reset, resetMidBody, ok];
    const r = rules();
    const to = join(scratch, 'reset.tar.gz');
    await download(new URL(`${http.base}/reset.tar.gz`), to, '--rig-path', r);
    expect(await readFile(to, 'utf8')).toBe(BODY);
    expect(requests).toBe(3);
    expect(r.lines[0]).toMatch(/: fetch failed \(ECONNRESET\); attempt 2 of 4/);
    expect(r.lines[1]).toMatch(/: terminated \(ECONNRESET\); attempt 3 of 4/);
  });

  it('never retries a body over the limit, announced or not', async () => {
    const big = 'x'.repeat(2048);
    for (const announce of [true, false]) {
      script = [(_req, res) => void res.writeHead(200, announce ? { 'content-length': String(big.length) } : {}).end(big), ok];
      requests = 0;
      const r = rules();
      const url = new URL(`${http.base}/big.tar.gz`);
      const err = await failureOf(download(url, join(scratch, 'big.tar.gz'), '--rig-path', r));
      expect(err).toBeInstanceOf(ConfigError);
      expect(err.message).toBe(`--rig-path: ${url.href} sends more than 1024 bytes`);
      expect(requests, `content-length announced: ${announce}`).toBe(1);
      expect(r.lines).toEqual([]);
    }
  });

  it('never retries a redirect it refuses', async () => {
    script = [(_req, res) => void res.writeHead(302, { location: 'https://elsewhere.example/rig.tar.gz' }).end(), ok];
    const err = await failureOf(downloadText(new URL(`${http.base}/moved`), '--rig-path', rules()));
    expect(err).toBeInstanceOf(ConfigError);
    expect(requests).toBe(1);
  });

  it('honours Retry-After, in seconds or as a date', async () => {
    script = [status(429, { 'retry-after': '1' }), ok];
    const r = rules();
    const started = Date.now();
    expect(await downloadText(new URL(`${http.base}/SHA256SUMS`), 'published rig', r)).toBe(BODY);
    expect(Date.now() - started).toBeGreaterThanOrEqual(950);
    expect(r.lines).toEqual([`published rig: ${http.base}/SHA256SUMS: HTTP 429 Too Many Requests; attempt 2 of 4 in 1 s, as its Retry-After asks`]);

    // An HTTP date has whole seconds: two seconds ahead waits about one to two.
    script = [status(503, { 'retry-after': new Date(Date.now() + 2000).toUTCString() }), ok];
    const dated = rules();
    const again = Date.now();
    await downloadText(new URL(`${http.base}/SHA256SUMS`), 'published rig', dated);
    expect(Date.now() - again).toBeGreaterThanOrEqual(900);
    expect(dated.lines[0]).toMatch(/HTTP 503 Service Unavailable; attempt 2 of 4 in [0-9.]+ s, as its Retry-After asks$/);
  });

  it('does not wait longer than its cap, nor past the deadline', async () => {
    script = [status(503, { 'retry-after': '120' }), ok];
    const url = new URL(`${http.base}/busy.tar.gz`);
    const capped = await failureOf(downloadText(url, '--rig-path', rules()));
    expect(capped).toBeInstanceOf(InfraError);
    expect(capped.message).toBe(
      `--rig-path: cannot download ${url.href}: HTTP 503 Service Unavailable (the server asks to retry after 120 s, longer than the ${RETRY_POLICY.maxWaitMs / 1000} s we wait)`,
    );
    expect(requests).toBe(1);

    script = [status(503, { 'retry-after': '2' }), ok];
    const late = await failureOf(downloadText(url, '--rig-path', rules({ timeoutMs: 1000 })));
    expect(late.message).toBe(`--rig-path: cannot download ${url.href}: HTTP 503 Service Unavailable (no time left for attempt 2 before the deadline)`);
    expect(requests).toBe(2);
  });

  it('gives up after a fixed number of attempts and says so', async () => {
    script = [status(502)];
    const r = rules();
    const url = new URL(`${http.base}/down.tar.gz`);
    const err = await failureOf(download(url, join(scratch, 'down.tar.gz'), '--rig-path', r));
    expect(err).toBeInstanceOf(InfraError);
    expect(err.message).toBe(`--rig-path: cannot download ${url.href}: HTTP 502 Bad Gateway (gave up after ${RETRY_POLICY.attempts} attempts)`);
    expect(requests).toBe(RETRY_POLICY.attempts);
    expect(r.lines).toHaveLength(RETRY_POLICY.attempts - 1);
  });
});

describe('retry policy', () => {
  it('calls 408, 429 and 5xx transient, but not 501, 505 or other 4xx', () => {
    const t = (code: number) => transient(new HttpStatusError(code, '')) !== undefined;
    expect([408, 429, 500, 502, 503, 504, 599].map(t)).toEqual(Array(7).fill(true));
    expect([400, 401, 403, 404, 410, 501, 505].map(t)).toEqual(Array(7).fill(false));
  });

  it('calls a reset or a client timeout transient, a refused connection or a missing host not', () => {
    const fetchFailed = (code: string) => new TypeError('fetch failed', { cause: Object.assign(new Error(code), { code }) });
    for (const code of ['ECONNRESET', 'UND_ERR_SOCKET', 'UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'EAI_AGAIN']) expect(transient(fetchFailed(code)), code).toEqual({});
    for (const code of ['ECONNREFUSED', 'ENOTFOUND', 'CERT_HAS_EXPIRED', 'ENOSPC']) expect(transient(fetchFailed(code)), code).toBeUndefined();
    expect(transient(new ConfigError('too many bytes'))).toBeUndefined();
  });

  it('reads Retry-After as seconds or an HTTP date, and ignores what it cannot read', () => {
    const now = Date.parse('2025-01-01T00:00:00Z');
    expect(parseRetryAfter('7', now)).toBe(7000);
    expect(parseRetryAfter(' 0 ', now)).toBe(0);
    expect(parseRetryAfter('Wed, 01 Jan 2025 00:00:30 GMT', now)).toBe(30_000);
    expect(parseRetryAfter('Tue, 31 Dec 2024 23:00:00 GMT', now)).toBe(0);
    expect(parseRetryAfter('-5', now)).toBeUndefined();
    expect(parseRetryAfter('soon', now)).toBeUndefined();
    expect(parseRetryAfter(null, now)).toBeUndefined();
  });

  it('doubles the wait each retry, jitter taking up to half off, within the cap', () => {
    const policy = { attempts: 4, firstDelayMs: 1000, maxWaitMs: 3000 };
    expect([1, 2, 3].map((n) => backoffMs(n, policy, () => 0))).toEqual([1000, 2000, 3000]);
    expect([1, 2, 3].map((n) => backoffMs(n, policy, () => 1))).toEqual([500, 1000, 1500]);
  });
});
