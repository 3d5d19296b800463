// One booted system for a run: boot media → outer QEMU → Xen's console, with SSH to dom0
// on demand. It owns everything it starts and close() ends all of it, on every path.
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import type { RunPlan } from './config/types.js';
import { Console, serialDuplex, type SeenWarning } from './console/index.js';
import { Deadline } from './deadline.js';
import { ConfigError, InfraError } from './errors.js';
import { parseDuration } from './config/units.js';
import { collectForensics, writeRepro, type ForensicsPort, type KeptMachine } from './forensics/index.js';
import { buildBootMedia } from './image/index.js';
import { socketDirFor } from './image/media.js';
import { bootArgs, QEMU_BINARY, reservePort, startMachine, stopMachine, type BootArgsInput, type Machine } from './machine/index.js';
import { installEvidence, loadState, resume, saveState, type BootedState } from './snapshot/index.js';
import { Backends } from './backend/index.js';
import type { Rig } from './rig/manifest.js';
import type { CommandProtocol, ConsoleProtocol, ScenarioDrivers } from './scenario/runner.js';
import { Dom0Ssh, HostKeyPin, type BackgroundProcess } from './ssh/index.js';

export interface SessionHooks {
  info(line: string): void;
  /** A named moment of the boot, for the timeline (at: epoch ms, default now). */
  phase(name: string, at?: number): void;
  /** A process was started that must not outlive the run (the action's post step stops it). */
  onProcess?(pid: number): void;
  /** The run's top logs dir: forensics references are relative to it (default: this boot's). */
  logsRoot?: string;
}

export interface Session {
  /** How the machine got to its shells: booted from media, or restored from a saved state. */
  origin: 'boot' | 'restore';
  machine: Machine;
  console: Console;
  /** Where the repro folder (replay.sh and what it boots) was written; cold boots only. */
  reproDir?: string;
  /**
   * The readiness gate: every domain at its shell and dom0 answering SSH, then the SSH link
   * closed and input focus on dom0, so nothing scenario-specific has happened yet.
   */
  settle(deadlineMs: number): Promise<void>;
  /** Saves the settled machine's state into `dir` and lets it run on. */
  save(dir: string, deadlineMs: number): Promise<BootedState>;
  /** The drivers one scenario runs against; each scenario gets its own background set. */
  driversFor(scenario: string): ScenarioDrivers;
  /** The machine as keep-alive-on-failure hands it to a developer. */
  keepable(): KeptMachine;
  /**
   * The kernel and Xen warnings not yet taken: the first call also gets the boot's (a
   * restored system's come from its saved boot), later calls what appeared since.
   */
  takeWarnings(): SeenWarning[];
  close(): Promise<void>;
}

const XEN_BANNER = /^\(XEN\) Xen version \d/;

/**
 * How long after QEMU starts Xen must have printed its banner. Here it comes 3–7 s in (u-boot
 * loads the modules first); two minutes leaves TCG on a loaded runner ample room, and ends a
 * hung firmware or a Xen that never starts long before the scenarios' five-minute shell waits.
 * XEN_PVH_VIRTIO_BANNER_DEADLINE (a duration) overrides it, for slow hosts and for tests.
 */
export const BANNER_DEADLINE_MS = 120_000;

export function bannerDeadlineMs(env: NodeJS.ProcessEnv = process.env): number {
  const given = env.XEN_PVH_VIRTIO_BANNER_DEADLINE?.trim();
  if (!given) return BANNER_DEADLINE_MS;
  const ms = parseDuration(given);
  if (ms === undefined) throw new ConfigError(`environment variable XEN_PVH_VIRTIO_BANNER_DEADLINE: expected a duration like 2m or 90s, got "${given}"`);
  return ms;
}
/** A restored dom0 answers SSH within a second or two; minutes of host load happen. */
const RESTORE_SETTLE_MS = 2 * 60_000;
/** Loading ~300 MiB of state takes seconds; this bounds a stuck load. */
const LOAD_DEADLINE_MS = 120_000;

/** Cold boot: builds the boot media and starts the machine from u-boot or Xen itself. */
export async function openSession(plan: RunPlan, rig: Rig, workDir: string, hooks: SessionHooks): Promise<Session> {
  const bannerMs = bannerDeadlineMs();
  const sshPort = await reservePort(plan.sshPort);
  const media = await buildBootMedia({ rig, domains: plan.domains, boot: plan.boot, workDir, sshPort }, hooks.info);
  // Written before QEMU starts: a boot that hangs or dies still leaves its recipe behind.
  const reproDir = join(plan.logsDir, 'repro');
  await writeRepro(media, rig, workDir, reproDir);
  hooks.info(`booting: ${plan.boot} path, ssh on 127.0.0.1:${sshPort}, logs in ${plan.logsDir}`);
  hooks.phase('qemu start');
  const machine = await startMachine(media.launch, { logDir: plan.logsDir });
  const ownSockets = media.socketDir !== workDir ? media.socketDir : undefined;
  const { session, banner } = attach(plan, machine, hooks, {
    origin: 'boot',
    machineInput: media.machineInput,
    privateKeyPath: media.sshKey.privateKeyPath,
    socketDir: media.socketDir,
    reproDir,
    ...(ownSockets ? { ownSocketDir: ownSockets } : {}),
  });
  // No banner means nothing after it can come: end the boot now, not at the first shell wait.
  try {
    await bannerWithin(banner, machine, bannerMs);
  } catch (e) {
    await session.close();
    throw e;
  }
  return session;
}

/** A machine loading a saved state in the background: paused until it is activated. */
export interface PendingRestore {
  /** Waits for the load, lets the guest run and hands over the session. */
  activate(): Promise<Session>;
  /** Stops the machine without using it (the run ended or went another way). */
  discard(): Promise<void>;
}

/**
 * Starts loading a saved state now and returns at once. The run lines up the next
 * scenario's machine this way while the current scenario runs, so switching costs a `cont`.
 */
export function startRestore(plan: RunPlan, state: BootedState, workDir: string, hooks: SessionHooks, sshPort = plan.sshPort): PendingRestore {
  let machine: Machine | undefined;
  let socketDir: string | undefined;
  let ownSocketDir: string | undefined;
  let input: BootArgsInput | undefined;
  let given = false;
  const loading = (async () => {
    const port = await reservePort(sshPort);
    await mkdir(workDir, { recursive: true });
    socketDir = await socketDirFor(workDir);
    if (socketDir !== workDir) ownSocketDir = socketDir;
    input = { ...state.machineInput, serialSocket: join(socketDir, 'serial.sock'), qmpSocket: join(socketDir, 'qmp.sock'), sshPort: port };
    const launch = { binary: QEMU_BINARY, args: [...bootArgs(input), '-incoming', 'defer'], serialSocket: input.serialSocket, qmpSocket: input.qmpSocket, sshPort: port };
    hooks.info(`restoring the booted system saved ${state.savedAt} (${(state.bytes / 2 ** 20).toFixed(0)} MiB), ssh on 127.0.0.1:${port}, logs in ${plan.logsDir}`);
    // Before the console opens its logs: they continue the boot's history.
    const evidence = await installEvidence(state, plan.logsDir);
    if (evidence.length > 0) hooks.info(`the saved system's boot evidence: ${evidence.join(', ')} in ${plan.logsDir}`);
    hooks.phase('restore start');
    machine = await startMachine(launch, { logDir: plan.logsDir });
    hooks.onProcess?.(machine.pid);
    const loaded = await loadState(machine, state.stateFile, join(socketDir, 'state.sock'), LOAD_DEADLINE_MS);
    hooks.info(`machine state loaded in ${(loaded.durationMs / 1000).toFixed(1)} s`);
    hooks.phase('state loaded');
  })();
  loading.catch(() => undefined);
  const discard = async () => {
    await loading.catch(() => undefined);
    if (machine) await stopMachine(machine).catch(() => undefined);
    if (ownSocketDir) await rm(ownSocketDir, { recursive: true, force: true });
  };
  return {
    discard: async () => {
      if (!given) await discard();
    },
    activate: async () => {
      let session: Session | undefined;
      try {
        await loading;
        session = attach(plan, machine!, hooks, {
          origin: 'restore',
          machineInput: input!,
          privateKeyPath: state.privateKeyPath,
          socketDir: socketDir!,
          shellsReady: state.domains,
          ...(state.warnings ? { bootWarnings: state.warnings } : {}),
          ...(ownSocketDir ? { ownSocketDir } : {}),
        }).session;
        await resume(machine!, 10_000);
        given = true;
        hooks.phase('restored');
        // QEMU migrates the EL1 timers' deadlines but not the EL2 one Xen runs on, so a
        // restored Xen's CPUs sleep until something interrupts them. Traffic to dom0 wakes
        // Xen, which then reprograms its timer; the SSH command also proves dom0 is back.
        await session.settle(RESTORE_SETTLE_MS);
        return session;
      } catch (e) {
        if (session) await session.close();
        else await discard();
        throw e;
      }
    },
  };
}

interface Attachment {
  origin: Session['origin'];
  machineInput: BootArgsInput;
  privateKeyPath: string;
  socketDir: string;
  /** A socket dir of our own (the work dir's path was too long), removed on close. */
  ownSocketDir?: string;
  reproDir?: string;
  /** Domains known to be at their shells already (a restored state was saved settled). */
  shellsReady?: string[];
  /** A restored system's boot warnings, seen before it was saved. */
  bootWarnings?: SeenWarning[];
}

/** Wraps a started machine; `banner` resolves when Xen's banner shows on the console. */
function attach(plan: RunPlan, machine: Machine, hooks: SessionHooks, a: Attachment): { session: Session; banner: Promise<void> } {
  if (a.origin === 'boot') hooks.onProcess?.(machine.pid);
  void writeFile(join(plan.logsDir, 'qemu.pid'), `${machine.pid}\n`).catch(() => undefined);
  let machineExited = false;
  void machine.exited.then(() => {
    machineExited = true;
  });
  // Console line times count from here: they convert to wall time for the timeline.
  const consoleEpoch = Date.now();
  const console = new Console(serialDuplex(machine.serial, machine.exited), {
    logDir: plan.logsDir,
    rawLog: false,
    domains: plan.domains.map((d) => ({ name: d.name, domid: d.domid })),
    startedAfterBoot: a.origin === 'restore',
  });
  let bannerSeen = () => {};
  const banner = new Promise<void>((resolve) => (bannerSeen = resolve));
  const unsubscribe = console.subscribe((line) => {
    if (line.source === 'xen' && XEN_BANNER.test(line.line)) {
      hooks.phase('xen banner', consoleEpoch + line.t);
      bannerSeen();
      unsubscribe();
    }
  });
  // A shell proven once stays proven: the gate consumed its ready line, or the state was saved after it.
  const shells = new Map<string, number>((a.shellsReady ?? []).map((d) => [d, Date.now()]));

  let privateKey: Buffer | undefined;
  const hostKey = new HostKeyPin();
  let ssh: Dom0Ssh | undefined;
  let sshPhaseSeen = false;
  const dom0 = async (deadlineMs: number): Promise<Dom0Ssh> => {
    if (ssh?.connected) return ssh;
    privateKey ??= await readFile(a.privateKeyPath);
    if (ssh) await ssh.reconnect(deadlineMs);
    else ssh = await Dom0Ssh.connect({ host: '127.0.0.1', port: machine.sshPort, username: 'root', privateKey, deadline: deadlineMs, hostKey });
    if (!sshPhaseSeen) {
      sshPhaseSeen = true;
      hooks.phase('ssh ready');
    }
    return ssh;
  };

  const waitForShell = async (domain: string, ms: number) => {
    const known = shells.get(domain);
    if (known !== undefined) return { at: known };
    const at = consoleEpoch + (await console.waitForShell(domain, ms)).line.t;
    shells.set(domain, at);
    return { at };
  };
  const consoleProtocol: ConsoleProtocol = {
    waitForShell,
    expect: (domain, pattern, ms) => console.expect(domain, pattern, ms),
    run: (domain, command, ms) => console.run(domain, command, ms),
    tail: (domain, lines) => console.tail(domain, lines),
  };

  let closed = false;
  let settled = false;
  let warningsTaken = 0;
  let bootWarningsGiven = false;
  const forensicsPort = (scenario: string): ForensicsPort => ({
    // A console that just ended may run a moment ahead of the exit status: wait that moment.
    machineGone: async () => closed || machineExited || (await settlesWithin(machine.exited, 300)),
    dom0: async (ms) => {
      const link = await dom0(ms);
      return { run: async (command, deadlineMs) => link.exec(command, { deadline: deadlineMs }) };
    },
    focusXen: (deadline) => console.focus('xen', deadline),
    focusDom0: (deadline) => console.focus('dom0', deadline),
    xenKey: (key, quietMs, deadline) => xenKeyOutput(console, machine, key, quietMs, deadline),
    hostLogs: async () =>
      (await readdir(plan.logsDir))
        .filter((f) => f.startsWith(`${scenario}-`) && f.endsWith('.log'))
        .sort()
        .map((f) => join(plan.logsDir, f)),
  });

  const session: Session = {
    origin: a.origin,
    machine,
    console,
    ...(a.reproDir ? { reproDir: a.reproDir } : {}),
    async settle(deadlineMs: number) {
      if (settled) return;
      const dl = Deadline.after(deadlineMs);
      for (const d of ['dom0', ...plan.domains.map((x) => x.name)]) {
        const { at } = await waitForShell(d, dl.remainingMs());
        hooks.phase(`${d} shell`, at);
      }
      const link = await dom0(dl.remainingMs());
      const r = await link.exec('true', { deadline: dl.remainingMs() });
      if (r.exitCode !== 0) throw new InfraError(`dom0 did not run \`true\` over SSH (exit ${r.exitCode}): ${r.stderr.trim()}`);
      // No TCP connection may span a save: the restored machine's peer would be gone.
      if (a.origin === 'boot') {
        await ssh?.close();
        ssh = undefined;
      }
      await console.focus('dom0', dl);
      settled = true;
      hooks.phase('settled');
    },
    async save(dir: string, deadlineMs: number) {
      if (!settled) throw new InfraError('internal: a machine is saved only once it has settled');
      await mkdir(dir, { recursive: true });
      const file = join(dir, 'state.zst');
      let saved;
      try {
        saved = await saveState(machine, file, join(a.socketDir, 'state.sock'), deadlineMs);
      } finally {
        // Saved or not, the machine goes on: a failed save falls back to booting, not to a stuck guest.
        await resume(machine, 10_000);
      }
      hooks.phase('state saved');
      hooks.info(`booted system saved: ${(saved.bytes / 2 ** 20).toFixed(0)} MiB in ${(saved.durationMs / 1000).toFixed(1)} s`);
      return {
        dir,
        stateFile: file,
        machineInput: a.machineInput,
        privateKeyPath: a.privateKeyPath,
        domains: [...shells.keys()],
        savedAt: new Date().toISOString(),
        bytes: saved.bytes,
        warnings: [...(a.bootWarnings ?? []), ...console.warnings],
      };
    },
    takeWarnings() {
      const fresh = console.warnings.slice(warningsTaken);
      warningsTaken = console.warnings.length;
      const boot = bootWarningsGiven ? [] : (a.bootWarnings ?? []);
      bootWarningsGiven = true;
      return [...boot, ...fresh];
    },
    driversFor(scenario: string): ScenarioDrivers {
      const started = new Set<BackgroundProcess>();
      let death: Error | undefined;
      let deathWaiters: ((error: Error) => void)[] = [];
      const died = (error: Error) => {
        death ??= error;
        for (const wake of deathWaiters.splice(0)) wake(death);
      };
      const commands = (link: Dom0Ssh): CommandProtocol => ({
        run: async (command, ms) => {
          const r = await link.exec(command, { deadline: ms });
          return { exitCode: r.exitCode, stdout: r.stdout, stderr: r.stderr };
        },
        background: async (name, command) => {
          const logFile = join(plan.logsDir, `${scenario}-${name.replace(/[^A-Za-z0-9._-]+/g, '_').slice(0, 60)}.log`);
          const proc = await link.background(name, command, { logFile });
          started.add(proc);
          proc.onDeath(died);
          return { logFile };
        },
      });
      // Xen or a kernel dying ends the scenario as a product failure, whatever step is running.
      const offFatal = console.onFatal(`scenario ${scenario}`, died);
      const backends = new Backends({
        domains: plan.domains,
        dom0,
        logsDir: plan.logsDir,
        scenario,
        onDeath: died,
      });
      return {
        console: consoleProtocol,
        dom0: async (ms) => commands(await dom0(ms)),
        backend: backends,
        takeDeath: () => {
          const d = death;
          death = undefined;
          return d;
        },
        whenDead: () => (death ? Promise.resolve(death) : new Promise<Error>((wake) => deathWaiters.push(wake))),
        forensics: async () => {
          const dir = join(plan.logsDir, 'forensics', scenario);
          hooks.info(`${scenario}: collecting forensics into ${dir}`);
          const record = await collectForensics(forensicsPort(scenario), dir);
          for (const m of record.missing) hooks.info(`${scenario}: forensics: ${m}`);
          hooks.info(`${scenario}: forensics took ${(record.durationMs / 1000).toFixed(1)} s (${record.files.length} files)`);
          return relative(hooks.logsRoot ?? plan.logsDir, dir);
        },
        cleanup: async () => {
          offFatal();
          deathWaiters = [];
          await backends.stopAll();
          for (const proc of started) await proc.stop(10_000).catch(() => undefined);
        },
      };
    },
    keepable: () => ({
      attach: { sshPort: machine.sshPort, privateKeyPath: a.privateKeyPath, serialSocket: a.machineInput.serialSocket },
      // The console sees its stream end; nothing runs on this session afterwards.
      releaseSerial: () => machine.serial.close(),
      exited: machine.exited,
    }),
    async close() {
      if (closed) return;
      closed = true;
      unsubscribe();
      await ssh?.close().catch(() => undefined);
      await stopMachine(machine).catch(() => undefined);
      await console.close().catch(() => undefined);
      if (console.retypedLines > 0) hooks.info(`console: ${console.retypedLines} typed line(s) arrived garbled and were typed again (see console-all.log)`);
      if (a.ownSocketDir) await rm(a.ownSocketDir, { recursive: true, force: true });
    },
  };
  return { session, banner };
}

/**
 * Types one Xen debug key and collects Xen's lines until `quietMs` pass without one. The key
 * goes straight to the serial port the session owns: Xen holds the input, so no shell sees it.
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

/** Resolves once Xen's banner was seen; an InfraError when QEMU exits or the deadline passes first. */
async function bannerWithin(banner: Promise<void>, machine: Machine, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new InfraError(
            `no Xen banner within ${(ms / 1000).toFixed(0)} s of QEMU start (the firmware or Xen never started); last lines of the serial port:\n${machine.serial.tail(20)}`,
            { logFile: machine.serial.logFile },
          ),
        ),
      ms,
    );
  });
  const exited = machine.exited.then((e) => {
    throw new InfraError(
      `QEMU exited (code ${e.code}, signal ${e.signal}) before Xen printed its banner:\n${machine.qemuOutputTail()}\nlast lines of the serial port:\n${machine.serial.tail(20)}`,
      { logFile: machine.logFiles.qemu },
    );
  });
  try {
    await Promise.race([banner, late, exited]);
  } finally {
    clearTimeout(timer);
    exited.catch(() => undefined);
  }
}

/** Whether `p` settles within `ms`, without leaving a timer behind. */
async function settlesWithin(p: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
  const settled = await Promise.race([p.then(() => true as const, () => true as const), late]);
  clearTimeout(timer);
  return settled;
}
