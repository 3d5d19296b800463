// Test plumbing for console/: a real unix socket pair and a seeded PRNG, nothing simulated.
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface SocketPair {
  /** The end QEMU would hold (the chardev server side). */
  qemu: Socket;
  /** The end the Console reads, as machine/ would hand it over. */
  client: Socket;
  dir: string;
  dispose(): Promise<void>;
}

export async function socketPair(): Promise<SocketPair> {
  const dir = await mkdtemp(join(tmpdir(), 'console-test-'));
  const path = join(dir, 'serial.sock');
  const server: Server = createServer();
  await new Promise<void>((resolve) => server.listen(path, resolve));
  const accepted = new Promise<Socket>((resolve) => server.once('connection', resolve));
  const client = connect(path);
  await new Promise<void>((resolve, reject) => {
    client.once('connect', resolve);
    client.once('error', reject);
  });
  const qemu = await accepted;
  return {
    qemu,
    client,
    dir,
    async dispose() {
      qemu.destroy();
      client.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** mulberry32: small, seeded, good enough to pick read sizes reproducibly. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Cuts `bytes` into pieces of 1..maxPiece bytes chosen by the seeded PRNG. */
export function randomCuts(bytes: Buffer, seed: number, maxPiece: number): Buffer[] {
  const rand = prng(seed);
  const out: Buffer[] = [];
  for (let at = 0; at < bytes.length; ) {
    const n = 1 + Math.floor(rand() * maxPiece);
    out.push(bytes.subarray(at, at + n));
    at += n;
  }
  return out;
}

/** Resolves once `check` holds, polling each turn of the event loop; rejects after `ms`. */
export async function until(check: () => boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setImmediate(r));
  }
}
