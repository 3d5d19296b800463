// What one scenario runs against on a system: the console and dom0 protocols, the backends,
// the background commands it starts, the death of any of them, and forensics afterwards.
// Each scenario gets its own set, so cleanup() ends exactly what that scenario started.
import { readdir } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { DomainSpec } from '../config/types.js';
import type { Console } from '../console/index.js';
import type { Deadline } from '../deadline.js';
import { Backends } from '../backend/index.js';
import { collectForensics, type ForensicsPort } from '../forensics/index.js';
import type { Machine } from '../machine/index.js';
import type { CommandProtocol, ConsoleProtocol, ScenarioDrivers } from '../scenario/runner.js';
import type { BackgroundProcess, Dom0Ssh } from '../ssh/index.js';
import type { Dom0Link } from './dom0-link.js';

/** The parts of a running system a scenario's drivers use. */
export interface DriverParts {
  machine: Machine;
  console: Console;
  dom0: Dom0Link;
  /** The console protocol of the system, shared by its scenarios (shells proven once stay proven). */
  consoleProtocol: ConsoleProtocol;
  domains: readonly DomainSpec[];
  logsDir: string;
  /** Forensics paths are relative to this (the run's top logs dir). */
  logsRoot: string;
  info(line: string): void;
  /** Whether the machine is gone: the system was closed, or QEMU exited. */
  machineGone(): boolean;
}

export function scenarioDrivers(parts: DriverParts, scenario: string): ScenarioDrivers {
  const { machine, console, logsDir } = parts;
  const dom0 = (ms: number): Promise<Dom0Ssh> => parts.dom0.get(ms);
  const started = new Set<BackgroundProcess>();
  let death: Error | undefined;
  let deathWaiters: ((error: Error) => void)[] = [];
  const died = (error: Error) => {
    death ??= error;
    for (const wake of deathWaiters.splice(0)) wake(death);
  };
  /** `got`: what getting the link cost the step that asked for it (a login, or nothing). */
  const commands = (link: Dom0Ssh, got: { connectMs: number; logins: number }): CommandProtocol => ({
    run: async (command, ms) => {
      const r = await link.exec(command, { deadline: ms });
      const { openMs, runMs, closeMs } = r.timing;
      const profile = { connectMs: got.connectMs, roundTrips: got.logins + 2, openMs, guestMs: runMs, exitStatusMs: closeMs };
      return { exitCode: r.exitCode, stdout: r.stdout, stderr: r.stderr, profile };
    },
    background: async (name, command) => {
      const logFile = join(logsDir, `${scenario}-${name.replace(/[^A-Za-z0-9._-]+/g, '_').slice(0, 60)}.log`);
      const proc = await link.background(name, command, { logFile });
      started.add(proc);
      proc.onDeath(died);
      return { logFile };
    },
  });
  // Xen or a kernel dying ends the scenario as a product failure, whatever step is running.
  const offFatal = console.onFatal(`scenario ${scenario}`, died);
  const backends = new Backends({ domains: parts.domains, dom0, logsDir, scenario, onDeath: died });
  const forensicsPort: ForensicsPort = {
    // A console that just ended may run a moment ahead of the exit status: wait that moment.
    machineGone: async () => parts.machineGone() || (await settlesWithin(machine.exited, 300)),
    dom0: async (ms) => {
      const link = await dom0(ms);
      return { run: async (command, deadlineMs) => link.exec(command, { deadline: deadlineMs }) };
    },
    focusXen: (deadline) => console.focus('xen', deadline),
    focusDom0: (deadline) => console.focus('dom0', deadline),
    xenKey: (key, quietMs, deadline) => xenKeyOutput(console, machine, key, quietMs, deadline),
    hostLogs: async () =>
      (await readdir(logsDir))
        .filter((f) => f.startsWith(`${scenario}-`) && f.endsWith('.log'))
        .sort()
        .map((f) => join(logsDir, f)),
  };
  return {
    console: parts.consoleProtocol,
    dom0: async (ms) => {
      const asked = performance.now();
      const logins = parts.dom0.connected ? 0 : 1;
      const link = await dom0(ms);
      return commands(link, { connectMs: performance.now() - asked, logins });
    },
    backend: backends,
    takeDeath: () => {
      const d = death;
      death = undefined;
      return d;
    },
    whenDead: () => (death ? Promise.resolve(death) : new Promise<Error>((wake) => deathWaiters.push(wake))),
    forensics: async () => {
      const dir = join(logsDir, 'forensics', scenario);
      parts.info(`${scenario}: collecting forensics into ${dir}`);
      const record = await collectForensics(forensicsPort, dir);
      for (const m of record.missing) parts.info(`${scenario}: forensics: ${m}`);
      parts.info(`${scenario}: forensics took ${(record.durationMs / 1000).toFixed(1)} s (${record.files.length} files)`);
      return relative(parts.logsRoot, dir);
    },
    cleanup: async () => {
      offFatal();
      deathWaiters = [];
      // Everything the scenario started gets its stop even when an earlier one fails; what did
      // not stop is reported (the runner logs it, never in place of the steps' results).
      const failures: string[] = [];
      await backends.stopAll().catch((e: unknown) => failures.push((e as Error).message));
      for (const proc of started) {
        await proc.stop(10_000).catch((e: unknown) => failures.push(`${proc.name}: ${(e as Error).message}`));
      }
      if (failures.length > 0) throw new Error(`not everything stopped: ${failures.join('; ')}`);
    },
  };
}

/**
 * Types one Xen debug key and collects Xen's lines until `quietMs` pass without one. The key
 * goes straight to the serial port the system owns: Xen holds the input, so no shell sees it.
 */
async function xenKeyOutput(console: Console, machine: Machine, key: string, quietMs: number, deadline: Deadline): Promise<string[]> {
  const lines: string[] = [];
  let lastAt = Date.now();
  const off = console.subscribe((line) => {
    if (line.source !== 'xen' || line.banner !== undefined) return;
    lines.push(line.line);
    lastAt = Date.now();
  });
  try {
    await machine.serial.write(Buffer.from(key, 'latin1'));
    while (!deadline.expired && !(lines.length > 0 && Date.now() - lastAt >= quietMs)) {
      await new Promise((resolve) => setTimeout(resolve, Math.min(100, deadline.remainingMs())));
    }
  } finally {
    off();
  }
  return lines;
}

/** Whether `p` settles within `ms`, without leaving a timer behind. */
async function settlesWithin(p: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
  const settled = await Promise.race([p.then(() => true as const, () => true as const), late]);
  clearTimeout(timer);
  return settled;
}
