// The outer machine's serial port: raw bytes from QEMU's socket chardev, kept in memory,
// appended to a raw log file, and handed to whoever listens (console/ builds on this).
import { createWriteStream, type WriteStream } from 'node:fs';
import type { Socket } from 'node:net';

export type SerialListener = (chunk: Buffer) => void;

/** Boot logs are a few hundred KiB; past this only the most recent bytes are kept in memory. */
const MAX_CAPTURE_BYTES = 32 * 1024 * 1024;

export class SerialPort {
  private chunks: Buffer[] = [];
  private bytes = 0;
  private readonly listeners = new Set<SerialListener>();
  private readonly log: WriteStream;
  private closed = false;

  constructor(
    private readonly socket: Socket,
    readonly logFile: string,
  ) {
    this.log = createWriteStream(logFile, { flags: 'a' });
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('close', () => (this.closed = true));
    // A socket error ends the stream; QEMU's exit is reported by the Machine, not here.
    socket.on('error', () => (this.closed = true));
  }

  /** Calls listener for every chunk from now on; returns the unsubscribe function. */
  subscribe(listener: SerialListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Everything received so far (or its most recent MAX_CAPTURE_BYTES). */
  captured(): Buffer {
    if (this.chunks.length > 1) this.chunks = [Buffer.concat(this.chunks)];
    return this.chunks[0] ?? Buffer.alloc(0);
  }

  /** The last lines of the capture, CR stripped, for error messages. */
  tail(lines = 40): string {
    const text = this.captured().toString('utf8').replace(/\r/g, '');
    return text.split('\n').slice(-lines).join('\n');
  }

  async write(data: Buffer | string): Promise<void> {
    if (this.closed) return;
    await new Promise<void>((resolve, reject) => this.socket.write(data, (err) => (err ? reject(err) : resolve())));
  }

  /** Closes the socket and flushes the log file. */
  async close(): Promise<void> {
    this.closed = true;
    this.socket.destroy();
    if (!this.log.closed) await new Promise<void>((resolve) => this.log.end(() => resolve()));
  }

  private onData(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.bytes += chunk.length;
    if (this.bytes > MAX_CAPTURE_BYTES) {
      const all = Buffer.concat(this.chunks);
      this.chunks = [all.subarray(all.length - MAX_CAPTURE_BYTES)];
      this.bytes = MAX_CAPTURE_BYTES;
    }
    this.log.write(chunk);
    for (const listener of this.listeners) listener(chunk);
  }
}
