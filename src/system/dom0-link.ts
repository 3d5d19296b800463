// SSH to one system's dom0, connected on first use and reconnected after a drop. The host
// key is pinned on first contact: a restored or rebooted dom0 answering with another key is
// not ours.
import { readFile } from 'node:fs/promises';
import { Dom0Ssh, HostKeyPin } from '../ssh/index.js';

export class Dom0Link {
  private privateKey: Buffer | undefined;
  private readonly hostKey = new HostKeyPin();
  private ssh: Dom0Ssh | undefined;
  private firstContact = true;

  constructor(
    private readonly port: number,
    private readonly privateKeyPath: string,
    /** Told once, when dom0 first answers (the timeline's "ssh ready"). */
    private readonly onFirstContact: () => void,
  ) {}

  /** Whether get() would answer without logging in. */
  get connected(): boolean {
    return this.ssh?.connected ?? false;
  }

  /** A connected link, within `deadlineMs` (sshd may still be starting). */
  async get(deadlineMs: number): Promise<Dom0Ssh> {
    if (this.ssh?.connected) return this.ssh;
    this.privateKey ??= await readFile(this.privateKeyPath);
    if (this.ssh) await this.ssh.reconnect(deadlineMs);
    else this.ssh = await Dom0Ssh.connect({ host: '127.0.0.1', port: this.port, username: 'root', privateKey: this.privateKey, deadline: deadlineMs, hostKey: this.hostKey });
    if (this.firstContact) {
      this.firstContact = false;
      this.onFirstContact();
    }
    return this.ssh;
  }

  /** Drops the connection; the next get() opens a new one with the same pinned host key. */
  async drop(): Promise<void> {
    const ssh = this.ssh;
    this.ssh = undefined;
    await ssh?.close();
  }
}
