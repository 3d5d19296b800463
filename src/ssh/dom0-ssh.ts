// The SSH driver to dom0: one connection, commands on channels of their own, background
// processes it owns until close(). Scenario steps use this protocol (exec, run, background,
// close) and never see the ssh2 client underneath.
import type { Client } from 'ssh2';
import { Deadline } from '../deadline.js';
import { InfraError, ProductFailure } from '../errors.js';
import {
  BACKGROUND_DEFAULTS,
  BackgroundProcess,
  settlesWithin,
  startBackground,
  type BackgroundHost,
  type BackgroundOptions,
} from './background.js';
import { execCommand, type ExecOptions, type ExecResult } from './command.js';
import { connectWithRetry, type ConnectOptions } from './connect.js';
import { HostKeyPin } from './host-key.js';

export const CLOSE_DEFAULTS = {
  /** Budget for close(): stopping background processes, then ending the connection. */
  deadlineMs: 10_000,
  /** SIGTERM grace for each background process during close(). */
  graceMs: 2_000,
} as const;

/** Connects to dom0 (retrying until the deadline) and returns the driver. */
export function connectDom0(opts: ConnectOptions): Promise<Dom0Ssh> {
  return Dom0Ssh.connect(opts);
}

export class Dom0Ssh {
  private current: Client | undefined;
  private readonly dropListeners = new Set<(why: string) => void>();
  private readonly backgrounds = new Set<BackgroundProcess>();
  private closing: Promise<void> | undefined;
  // The client being ended on purpose (close or reconnect): its end is no drop.
  private ending: Client | undefined;
  private readonly endpoint: string;
  // The channel-level face that command.ts and background.ts work through.
  private readonly link: BackgroundHost = {
    client: (command) => this.liveClient(command),
    onDrop: (listener) => {
      this.dropListeners.add(listener);
      return () => this.dropListeners.delete(listener);
    },
    exec: (command, opts) => this.exec(command, opts),
  };

  private constructor(
    private readonly opts: ConnectOptions,
    private readonly pin: HostKeyPin,
  ) {
    this.endpoint = `${opts.username}@${opts.host}:${opts.port}`;
  }

  static async connect(opts: ConnectOptions): Promise<Dom0Ssh> {
    const ssh = new Dom0Ssh(opts, opts.hostKey ?? new HostKeyPin());
    await ssh.open(opts.deadline);
    return ssh;
  }

  /** dom0's host key as `<algorithm> SHA256:…`, pinned by the first login. */
  get hostKey(): string | undefined {
    return this.pin.fingerprint;
  }

  get connected(): boolean {
    return this.current !== undefined;
  }

  /** Runs `command` in dom0's shell; any exit status is returned, not thrown. */
  exec(command: string, opts: ExecOptions): Promise<ExecResult> {
    return execCommand(this.link, command, opts);
  }

  /** Like exec, but a non-zero exit is a ProductFailure carrying what the command printed. */
  async run(command: string, opts: ExecOptions): Promise<ExecResult> {
    const result = await this.exec(command, opts);
    if (result.exitCode === 0) return result;
    const said = (result.stderr.trim() || result.stdout.trim()).split('\n').slice(-BACKGROUND_DEFAULTS.tailLines).join('\n');
    const how = result.signal ? `was killed by ${result.signal}` : `exited with status ${result.exitCode}`;
    throw new ProductFailure(`dom0 command \`${command}\` ${how}${said ? `:\n${said}` : ''}`);
  }

  /** Starts `command` in dom0 as a background process owned by this driver until close(). */
  async background(name: string, command: string, opts: BackgroundOptions): Promise<BackgroundProcess> {
    const proc = await startBackground(this.link, name, command, opts);
    this.backgrounds.add(proc);
    void proc.exited.then(() => this.backgrounds.delete(proc));
    return proc;
  }

  /**
   * Ends the current connection (background processes on it are lost) and logs in again
   * within the deadline. The host key must be the one pinned by the first login.
   */
  async reconnect(deadline: Deadline | number): Promise<void> {
    if (this.closing) throw new InfraError(`SSH to ${this.endpoint} is closed; cannot reconnect`);
    const until = Deadline.from(deadline);
    await this.endConnection(until.capped(CLOSE_DEFAULTS.deadlineMs));
    await this.open(until);
  }

  /**
   * Stops the background processes, ends every channel and the connection. Idempotent,
   * never throws; afterwards nothing of this driver keeps Node's event loop alive.
   */
  close(deadline: Deadline | number = CLOSE_DEFAULTS.deadlineMs): Promise<void> {
    this.closing ??= this.shutdown(Deadline.from(deadline));
    return this.closing;
  }

  private async shutdown(until: Deadline): Promise<void> {
    const running = [...this.backgrounds].filter((proc) => proc.running);
    for (const proc of running) proc.expectEnd();
    if (this.current) {
      await Promise.allSettled(running.map((proc) => proc.stop(until, CLOSE_DEFAULTS.graceMs)));
    }
    for (const proc of running) proc.abandon();
    await this.endConnection(until);
    // Their logs close as they settle; close() returns with no file handle left open.
    await settlesWithin(Promise.all(running.map((proc) => proc.exited)), Math.max(until.remainingMs(), 1_000));
  }

  private async open(deadline: Deadline | number): Promise<void> {
    await connectWithRetry({ ...this.opts, deadline, hostKey: this.pin }, (client) => this.adopt(client));
  }

  private adopt(client: Client): void {
    this.current = client;
    let lastError: Error | undefined;
    client.on('error', (err: Error) => (lastError = err));
    client.on('close', () => {
      if (this.current === client) this.current = undefined;
      const why = this.ending === client ? 'was closed' : `dropped (${lastError?.message ?? 'closed by dom0'})`;
      for (const listener of [...this.dropListeners]) listener(why);
    });
  }

  private liveClient(command: string): Client {
    if (this.current) return this.current;
    const state = this.closing ? 'closed' : 'not connected';
    throw new InfraError(`cannot run \`${command}\`: SSH to ${this.endpoint} is ${state}`);
  }

  /** Ends the connection politely, or destroys it when dom0 does not answer in time. */
  private async endConnection(until: Deadline): Promise<void> {
    const client = this.current;
    if (!client) return;
    this.ending = client;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        client.destroy();
        resolve();
      }, until.remainingMs());
      client.once('close', () => {
        clearTimeout(timer);
        resolve();
      });
      client.end();
    });
    if (this.current === client) this.current = undefined;
  }
}
