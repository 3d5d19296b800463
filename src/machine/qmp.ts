// A minimal QMP client over QEMU's control socket: greeting, qmp_capabilities, commands.
import type { Socket } from 'node:net';
import { InfraError } from '../errors.js';
import { connectWhenListening } from './socket.js';

type Reply = { return?: unknown; error?: { class: string; desc: string } };

export class QmpClient {
  private buffer = '';
  private waiting: Array<(reply: Reply | Error) => void> = [];
  private closed = false;

  private constructor(private readonly socket: Socket) {
    socket.setEncoding('utf8');
    socket.on('data', (text: string) => this.onData(text));
    socket.on('close', () => this.failAll(new InfraError('QMP connection closed')));
    socket.on('error', (err) => this.failAll(new InfraError(`QMP socket error: ${err.message}`, { cause: err })));
  }

  /** Connects, reads the greeting and leaves capability negotiation mode. */
  static async connect(path: string, deadlineMs: number, alive?: () => boolean): Promise<QmpClient> {
    const socket = await connectWhenListening(path, deadlineMs, alive);
    const client = new QmpClient(socket);
    // The greeting arrives unasked; it counts as the first reply in the queue.
    await withDeadline(client.nextReply(), deadlineMs, 'QMP greeting did not arrive');
    await client.execute('qmp_capabilities', undefined, deadlineMs);
    return client;
  }

  async execute(command: string, args: Record<string, unknown> | undefined, deadlineMs: number): Promise<unknown> {
    if (this.closed) throw new InfraError(`QMP ${command}: connection already closed`);
    const reply = this.nextReply();
    this.socket.write(JSON.stringify(args ? { execute: command, arguments: args } : { execute: command }) + '\n');
    const r = await withDeadline(reply, deadlineMs, `QMP ${command} got no answer`);
    if (r.error) throw new InfraError(`QMP ${command} failed: ${r.error.class}: ${r.error.desc}`);
    return r.return;
  }

  close(): void {
    this.closed = true;
    this.socket.destroy();
  }

  private nextReply(): Promise<Reply> {
    return new Promise<Reply>((resolve, reject) => {
      this.waiting.push((r) => (r instanceof Error ? reject(r) : resolve(r)));
    });
  }

  private onData(text: string): void {
    this.buffer += text;
    let nl: number;
    while ((nl = this.buffer.indexOf('\n')) >= 0) {
      const line = this.buffer.slice(0, nl).trim();
      this.buffer = this.buffer.slice(nl + 1);
      if (!line) continue;
      let msg: Record<string, unknown>;
      try {
        msg = JSON.parse(line) as Record<string, unknown>;
      } catch {
        continue;
      }
      // Events are asynchronous notices, not answers to our commands.
      if ('event' in msg) continue;
      this.waiting.shift()?.(msg as Reply);
    }
  }

  private failAll(err: Error): void {
    this.closed = true;
    for (const w of this.waiting.splice(0)) w(err);
  }
}

export function withDeadline<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new InfraError(`${what} within ${ms} ms`)), ms);
    promise.then(
      (v) => {
        clearTimeout(timer);
        resolve(v);
      },
      (e: unknown) => {
        clearTimeout(timer);
        reject(e);
      },
    );
  });
}
