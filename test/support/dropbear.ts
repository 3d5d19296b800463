// A real dropbear on 127.0.0.1 for the ssh/ tests, shaped like dom0's: key-only logins
// (`-s`), an ed25519 host key, the run's key in the login user's authorized_keys.
// Dropbear 2022.83 reads authorized_keys only from the user's home, so each test file gets
// a throwaway user whose home is a temp dir; creating it needs root (or `sudo -n`).
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { openSync, closeSync, readFileSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from '../../src/host/exec.js';
import { writeRunKeyPair } from '../../src/image/index.js';

export const DROPBEAR = '/usr/sbin/dropbear';
export const DROPBEARKEY = '/usr/bin/dropbearkey';

/** A command line as root: directly when we are root, else through passwordless sudo. */
function asRoot(command: string, args: string[]): [string, string[]] {
  return process.getuid?.() === 0 ? [command, args] : ['sudo', ['-n', command, ...args]];
}

async function runAsRoot(command: string, args: string[]): Promise<void> {
  const [cmd, argv] = asRoot(command, args);
  await run(cmd, argv);
}

export interface TestLogin {
  dir: string;
  username: string;
  privateKey: Buffer;
  /** A second key dom0 never heard of. */
  strangerKey: Buffer;
  remove(): Promise<void>;
}

/** A throwaway user whose authorized_keys holds a fresh run key (made by image/). */
export async function createLogin(): Promise<TestLogin> {
  const dir = await mkdtemp(join(tmpdir(), 'xpv-ssh-'));
  // dropbear reads authorized_keys as the login user, who must be able to reach its home.
  await chmod(dir, 0o755);
  const username = `xpvssh${randomBytes(4).toString('hex')}`;
  const home = join(dir, 'home');
  const keys = join(dir, 'keys');
  const stranger = join(dir, 'stranger');
  await mkdir(keys);
  await mkdir(stranger);
  const pair = await writeRunKeyPair(keys, 'ssh/ tests');
  const other = await writeRunKeyPair(stranger, 'not authorized');
  await mkdir(join(home, '.ssh'), { recursive: true });
  await writeFile(join(home, '.ssh', 'authorized_keys'), `${pair.publicKey}\n`, { mode: 0o600 });
  await chmod(join(home, '.ssh'), 0o700);
  await chmod(home, 0o700);

  // /bin/sh like dom0's busybox ash; '*' instead of useradd's '!' keeps the account unlocked.
  await runAsRoot('useradd', ['--no-create-home', '--home-dir', home, '--shell', '/bin/sh', '--password', '*', username]);
  await runAsRoot('chown', ['-R', `${username}:`, home]);
  return {
    dir,
    username,
    privateKey: await readFile(pair.privateKeyPath),
    strangerKey: await readFile(other.privateKeyPath),
    async remove() {
      await runAsRoot('pkill', ['-KILL', '-u', username]).catch(() => undefined);
      await runAsRoot('userdel', [username]).catch(() => undefined);
      await runAsRoot('rm', ['-rf', dir]);
    },
  };
}

export interface HostKey {
  file: string;
  /** `ssh-ed25519 SHA256:…`, from dropbearkey's own report. */
  fingerprint: string;
}

export async function makeHostKey(dir: string, name: string): Promise<HostKey> {
  const file = join(dir, name);
  const out = await run(DROPBEARKEY, ['-t', 'ed25519', '-f', file]);
  const match = /Fingerprint: (SHA256:\S+)/.exec(out.stdout + out.stderr);
  if (!match) throw new Error(`dropbearkey printed no SHA256 fingerprint:\n${out.stdout}${out.stderr}`);
  return { file, fingerprint: `ssh-ed25519 ${match[1]}` };
}

/** One dropbear listener; stop() ends it (connections already made keep their own process). */
export class Dropbear {
  private child: ChildProcess | undefined;

  constructor(
    readonly port: number,
    readonly hostKey: HostKey,
    readonly logFile: string,
  ) {}

  /** The pid of the dropbear listener, or of sudo in front of it. */
  get pid(): number | undefined {
    return this.child?.pid;
  }

  async start(deadlineMs = 10_000): Promise<void> {
    const log = openSync(this.logFile, 'a');
    const [cmd, args] = asRoot(DROPBEAR, ['-F', '-E', '-s', '-p', `127.0.0.1:${this.port}`, '-r', this.hostKey.file, '-P', `${this.logFile}.pid`]);
    this.child = spawn(cmd, args, { stdio: ['ignore', log, log] });
    closeSync(log);
    const until = Date.now() + deadlineMs;
    while (!(await accepts(this.port))) {
      if (this.child.exitCode !== null || Date.now() > until) {
        throw new Error(`dropbear did not listen on ${this.port}:\n${readFileSync(this.logFile, 'utf8')}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  async stop(): Promise<void> {
    const child = this.child;
    this.child = undefined;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const gone = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
    await gone;
    clearTimeout(timer);
  }
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1_000, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/**
 * Whether a pid runs on this host (EPERM: it does, owned by someone else). A zombie is
 * dead: orphans of a killed group wait for this container's init to reap them.
 */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  return stateOf(pid) !== 'Z';
}

function stateOf(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0];
  } catch {
    return undefined;
  }
}

/** Pids whose process group is `pgid`, read from /proc (the SSH server runs on this host). */
export async function groupMembers(pgid: number): Promise<number[]> {
  const members: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = await readFile(`/proc/${entry}/stat`, 'utf8').catch(() => '');
    // Fields after the parenthesised command: state, ppid, pgrp.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (Number(fields[2]) === pgid && fields[0] !== 'Z') members.push(Number(entry));
  }
  return members;
}

/** Kills a process as root (the test's dropbear and its sessions may belong to root). */
export async function killAsRoot(pid: number, signal = 'KILL'): Promise<void> {
  await runAsRoot('kill', [`-${signal}`, String(pid)]);
}
