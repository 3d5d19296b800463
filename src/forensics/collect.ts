// Evidence from a machine whose scenario just failed: dom0's view over SSH, Xen's own view
// through debug keys on the serial console, and the tails of host-side logs. Receives a small
// port onto the session; writes files into one folder; never throws and never outlives its budget.
import { open, mkdir, stat, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { Deadline } from '../deadline.js';
import type { CommandResult } from '../scenario/runner.js';

/** What collection needs from a booted session; every call is bounded by the deadline it gets. */
export interface ForensicsPort {
  /** Whether the outer QEMU has exited: then only files already on the host are collected. */
  machineGone(): Promise<boolean>;
  /** dom0's shell over SSH, connected within `deadlineMs`. */
  dom0(deadlineMs: number): Promise<{ run(command: string, deadlineMs: number): Promise<CommandResult> }>;
  /** Gives Xen the serial input, so typed keys reach its key handlers. */
  focusXen(deadline: Deadline): Promise<void>;
  /** Types one key while Xen holds the input; resolves with Xen's lines until it goes quiet. */
  xenKey(key: string, quietMs: number, deadline: Deadline): Promise<string[]>;
  /** Hands the serial input back to dom0, where the next scenario expects it. */
  focusDom0(deadline: Deadline): Promise<void>;
  /** Logs on the host worth a tail (backend device models, background commands). */
  hostLogs(): Promise<string[]>;
}

export interface ForensicsLimits {
  /** The whole collection, after which it returns with what it has. */
  budgetMs: number;
  /** For dom0 to answer SSH: a wedged dom0 must not eat the budget. */
  sshConnectMs: number;
  commandMs: number;
  focusMs: number;
  /** One debug key: the most its output may take, and the silence that ends it. */
  keyMs: number;
  keyQuietMs: number;
  hostTailLines: number;
}

export const FORENSICS_LIMITS: ForensicsLimits = {
  budgetMs: 60_000,
  sshConnectMs: 8_000,
  commandMs: 10_000,
  focusMs: 10_000,
  keyMs: 8_000,
  keyQuietMs: 1_500,
  hostTailLines: 200,
};

/** dom0 commands and the file each one's output lands in. busybox `ps` takes no options here. */
export const DOM0_COMMANDS: readonly { file: string; command: string }[] = [
  { file: 'xl-list.txt', command: 'xl list' },
  { file: 'xl-dmesg.txt', command: 'xl dmesg' },
  { file: 'xenstore-ls.txt', command: 'xenstore-ls -f' },
  { file: 'dom0-dmesg.txt', command: 'dmesg' },
  { file: 'dom0-ps.txt', command: 'ps' },
];

/**
 * Xen 4.17's read-only diagnostic keys with short output on this machine (xen/common/keyhandler.c,
 * sched/cpupool.c). Keys that reboot, crash or trap into a debugger are never sent.
 */
export const XEN_DEBUG_KEYS: readonly { key: string; file: string; what: string }[] = [
  { key: 'q', file: 'xen-key-q-domains.txt', what: 'domain and vCPU info' },
  { key: 'r', file: 'xen-key-r-run-queues.txt', what: 'scheduler run queues' },
  { key: '0', file: 'xen-key-0-dom0-registers.txt', what: "dom0's vCPU registers" },
  // Each CPU's first line is its earliest timer, `ex` in µs from now: one long overdue means
  // that CPU's hypervisor timer is not armed, as QEMU leaves it after loading a saved system.
  { key: 'a', file: 'xen-key-a-timer-queues.txt', what: 'timer queues per CPU' },
];

export interface ForensicsRecord {
  dir: string;
  /** Files written, relative to dir. */
  files: string[];
  /** What could not be collected, and why. */
  missing: string[];
  durationMs: number;
}

/** Collects into `dir`; returns when done or when the budget runs out, whichever comes first. */
export async function collectForensics(port: ForensicsPort, dir: string, limits: ForensicsLimits = FORENSICS_LIMITS): Promise<ForensicsRecord> {
  const started = Date.now();
  const budget = Deadline.after(limits.budgetMs);
  const record: ForensicsRecord = { dir, files: [], missing: [], durationMs: 0 };
  await mkdir(dir, { recursive: true });
  const put = async (file: string, text: string) => {
    await writeFile(join(dir, file), text);
    if (!record.files.includes(file)) record.files.push(file);
  };

  const work = (async () => {
    await tailHostLogs(port, put, record, limits);
    if (await port.machineGone()) {
      record.missing.push('dom0 and Xen: the machine had exited');
      return;
    }
    await fromDom0(port, put, record, limits, budget);
    await fromXen(port, put, record, limits, budget);
  })().catch((e: unknown) => {
    record.missing.push(`collection stopped: ${(e as Error).message}`);
  });
  // Anything inside that ignores its deadline is abandoned here, not awaited.
  let timer: NodeJS.Timeout | undefined;
  const outOfTime = new Promise<'budget'>((resolve) => (timer = setTimeout(() => resolve('budget'), limits.budgetMs)));
  const how = await Promise.race([work.then(() => 'done' as const), outOfTime]);
  clearTimeout(timer);
  if (how === 'budget') record.missing.push(`the ${limits.budgetMs / 1000} s budget ran out`);
  record.durationMs = Date.now() - started;
  // The index only lists what the folder already holds: losing it loses no evidence.
  await put('index.txt', indexText(record)).catch(() => undefined);
  return record;
}

type Put = (file: string, text: string) => Promise<void>;

async function tailHostLogs(port: ForensicsPort, put: Put, record: ForensicsRecord, limits: ForensicsLimits): Promise<void> {
  for (const log of await port.hostLogs()) {
    try {
      await put(`host-tail-${basename(log)}`, await tailOf(log, limits.hostTailLines));
    } catch (e) {
      record.missing.push(`tail of ${log}: ${(e as Error).message}`);
    }
  }
}

async function fromDom0(port: ForensicsPort, put: Put, record: ForensicsRecord, limits: ForensicsLimits, budget: Deadline): Promise<void> {
  let dom0: Awaited<ReturnType<ForensicsPort['dom0']>>;
  try {
    dom0 = await port.dom0(Math.min(limits.sshConnectMs, budget.remainingMs()));
  } catch (e) {
    record.missing.push(`dom0 over SSH (${DOM0_COMMANDS.map((c) => c.command).join(', ')}): ${firstLine(e)}`);
    return;
  }
  for (const { file, command } of DOM0_COMMANDS) {
    if (budget.expired) {
      record.missing.push(`${command}: no budget left`);
      continue;
    }
    try {
      const r = await dom0.run(command, Math.min(limits.commandMs, budget.remainingMs()));
      const trailer = r.exitCode === 0 && !r.stderr ? '' : `\n[stderr]\n${r.stderr}\n(exit status ${r.exitCode})\n`;
      await put(file, r.stdout + trailer);
    } catch (e) {
      record.missing.push(`${command}: ${firstLine(e)}`);
    }
  }
}

async function fromXen(port: ForensicsPort, put: Put, record: ForensicsRecord, limits: ForensicsLimits, budget: Deadline): Promise<void> {
  try {
    await port.focusXen(budget.capped(limits.focusMs));
  } catch (e) {
    record.missing.push(`Xen debug keys: cannot give Xen the serial input: ${firstLine(e)}`);
    return;
  }
  try {
    for (const { key, file, what } of XEN_DEBUG_KEYS) {
      if (budget.expired) {
        record.missing.push(`Xen debug key '${key}' (${what}): no budget left`);
        continue;
      }
      const lines = await port.xenKey(key, limits.keyQuietMs, budget.capped(limits.keyMs));
      if (lines.length === 0) record.missing.push(`Xen debug key '${key}' (${what}): Xen printed nothing`);
      else await put(file, lines.join('\n') + '\n');
    }
  } catch (e) {
    record.missing.push(`Xen debug keys: ${firstLine(e)}`);
  } finally {
    // The next scenario on this boot starts from dom0's input, like a fresh boot.
    await port.focusDom0(budget.capped(limits.focusMs)).catch((e: unknown) => record.missing.push(`focus back to dom0: ${firstLine(e)}`));
  }
}

/** The last `lines` lines of a file, reading at most its last 256 KiB. */
async function tailOf(path: string, lines: number): Promise<string> {
  const size = (await stat(path)).size;
  const length = Math.min(size, 256 * 1024);
  const handle = await open(path, 'r');
  try {
    const buf = Buffer.alloc(length);
    await handle.read(buf, 0, length, size - length);
    const text = buf.toString('utf8').split('\n');
    if (text[text.length - 1] === '') text.pop();
    return text.slice(-lines).join('\n') + '\n';
  } finally {
    await handle.close();
  }
}

function firstLine(e: unknown): string {
  return String((e as Error)?.message ?? e).split('\n')[0] ?? '';
}

function indexText(record: ForensicsRecord): string {
  const out = [`# forensics, collected in ${(record.durationMs / 1000).toFixed(1)} s`, '', '## files'];
  out.push(...record.files.filter((f) => f !== 'index.txt').map((f) => `- ${f}`));
  if (record.missing.length > 0) out.push('', '## not collected', ...record.missing.map((m) => `- ${m}`));
  return out.join('\n') + '\n';
}
