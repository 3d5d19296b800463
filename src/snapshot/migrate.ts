// Saving and loading a running machine's whole state with QEMU's migration over QMP.
// The stream goes through a unix socket we own and through zstd run with an argument
// array, so no shell command line is ever built (QEMU's `exec:` URIs would be one).
import { spawn } from 'node:child_process';
import { createReadStream } from 'node:fs';
import { rm, stat } from 'node:fs/promises';
import { createServer, type Socket } from 'node:net';
import { Deadline } from '../deadline.js';
import { InfraError } from '../errors.js';
import type { Machine } from '../machine/index.js';
import { connectWhenListening } from '../machine/socket.js';

const POLL_MS = 100;

export interface SavedState {
  file: string;
  bytes: number;
  durationMs: number;
}

/**
 * Stops the guest and writes its state to `file` (zstd-compressed). The machine is left
 * paused: the caller decides whether it goes on (`resume`) or ends.
 */
export async function saveState(machine: Machine, file: string, socketPath: string, deadlineMs: number): Promise<SavedState> {
  const dl = Deadline.after(deadlineMs);
  const t0 = Date.now();
  await rm(socketPath, { force: true });
  await machine.qmp.execute('stop', undefined, dl.remainingMs());
  // A stopped guest dirties nothing: one pass, as fast as the host can copy.
  await machine.qmp.execute('migrate-set-parameters', { 'max-bandwidth': 64 * 1024 ** 3 }, dl.remainingMs());

  const zstd = spawn('zstd', ['-1', '-T0', '-q', '-f', '-o', file], { stdio: ['pipe', 'ignore', 'pipe'] });
  const compressed = processResult(zstd, 'zstd (compressing the machine state)');
  // Awaited below; until then an early zstd failure must not count as unhandled.
  compressed.catch(() => undefined);
  const server = createServer();
  const accepted = new Promise<Socket>((resolve, reject) => {
    server.once('connection', resolve);
    server.once('error', reject);
  });
  await new Promise<void>((resolve, reject) => server.listen(socketPath, resolve).once('error', reject));
  try {
    await machine.qmp.execute('migrate', { uri: `unix:${socketPath}` }, dl.remainingMs());
    const conn = await within(accepted, dl, 'QEMU did not connect to the state socket');
    conn.pipe(zstd.stdin);
    await Promise.race([waitForMigration(machine, dl, 'source'), failureOf(compressed)]);
    await within(compressed, dl, 'zstd did not finish writing the machine state');
  } catch (e) {
    zstd.kill('SIGKILL');
    // Best effort: the save already failed, and that failure (not the cancel's) is the one to report.
    await machine.qmp.execute('migrate_cancel', undefined, 2_000).catch(() => undefined);
    await rm(file, { force: true });
    throw e;
  } finally {
    server.close();
    await rm(socketPath, { force: true });
  }
  return { file, bytes: (await stat(file)).size, durationMs: Date.now() - t0 };
}

/**
 * Feeds a saved state into a machine started with `-incoming defer`. Resolves once QEMU has
 * loaded it; the guest is then paused exactly where it was saved (`resume` starts it).
 */
export async function loadState(machine: Machine, file: string, socketPath: string, deadlineMs: number): Promise<{ durationMs: number }> {
  const dl = Deadline.after(deadlineMs);
  const t0 = Date.now();
  await rm(socketPath, { force: true });
  await machine.qmp.execute('migrate-incoming', { uri: `unix:${socketPath}` }, dl.remainingMs());
  const conn = await connectWhenListening(socketPath, dl.remainingMs());
  const zstd = spawn('zstd', ['-d', '-c', '-q'], { stdio: ['pipe', 'pipe', 'pipe'] });
  const decompressed = processResult(zstd, 'zstd (reading the machine state)');
  // Awaited below; until then an early zstd failure must not count as unhandled.
  decompressed.catch(() => undefined);
  createReadStream(file).pipe(zstd.stdin);
  zstd.stdout.pipe(conn);
  conn.on('error', () => undefined);
  try {
    // A damaged file ends zstd early: say so at once instead of waiting for QEMU to notice.
    await Promise.race([waitForMigration(machine, dl, 'destination'), failureOf(decompressed)]);
    await within(decompressed, dl, 'zstd did not finish reading the machine state');
  } catch (e) {
    zstd.kill('SIGKILL');
    throw e;
  } finally {
    conn.destroy();
    await rm(socketPath, { force: true });
  }
  return { durationMs: Date.now() - t0 };
}

/** Lets a paused guest run again. */
export async function resume(machine: Machine, deadlineMs: number): Promise<void> {
  await machine.qmp.execute('cont', undefined, deadlineMs);
}

/**
 * The source reports the migration's status; the destination is done when it leaves the
 * `inmigrate` run state. A failed migration names QEMU's own reason and its output tail.
 */
async function waitForMigration(machine: Machine, dl: Deadline, side: 'source' | 'destination'): Promise<void> {
  for (;;) {
    if (side === 'source') {
      const info = (await machine.qmp.execute('query-migrate', undefined, dl.remainingMs())) as { status?: string; 'error-desc'?: string };
      if (info.status === 'completed') return;
      if (info.status === 'failed' || info.status === 'cancelled') {
        throw new InfraError(`saving the machine state ${info.status}: ${info['error-desc'] ?? 'no reason given'}\n${machine.qemuOutputTail()}`);
      }
    } else {
      const st = (await machine.qmp.execute('query-status', undefined, dl.remainingMs())) as { status?: string };
      if (st.status && st.status !== 'inmigrate') {
        if (st.status !== 'paused' && st.status !== 'running') {
          throw new InfraError(`loading the machine state left QEMU in state '${st.status}'\n${machine.qemuOutputTail()}`);
        }
        return;
      }
    }
    if (dl.expired) throw new InfraError(`machine state ${side === 'source' ? 'save' : 'load'} did not finish in time\n${machine.qemuOutputTail()}`);
    await new Promise((r) => setTimeout(r, Math.min(POLL_MS, dl.remainingMs())));
  }
}

/** Rejects when `p` does; never settles otherwise (for racing a helper process against the main wait). */
function failureOf(p: Promise<void>): Promise<never> {
  return p.then(() => new Promise<never>(() => undefined));
}

function processResult(child: ReturnType<typeof spawn>, what: string): Promise<void> {
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-2000)));
  return new Promise<void>((resolve, reject) => {
    child.once('error', (e) => reject(new InfraError(`${what}: ${e.message}`, { cause: e })));
    child.once('exit', (code, signal) =>
      code === 0 ? resolve() : reject(new InfraError(`${what} exited with ${code ?? signal}: ${stderr.trim()}`)),
    );
  });
}

async function within<T>(p: Promise<T>, dl: Deadline, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new InfraError(`${what} within the deadline`)), dl.remainingMs())));
  try {
    return await Promise.race([p, late]);
  } finally {
    clearTimeout(timer);
  }
}
