// One system's life, from the outer QEMU's start to its end. Every transition is below, in
// the order a system lives them:
//
//   boot ───────▶ booted ──settle──▶ settled ──save──▶ saved
//   restore ────▶ loading ──activate (resume, settle)──▶ settled
//   any state ──close──▶ closed
//
// A system owns everything it starts (QEMU, the console, the SSH link, its socket folder) and
// close() ends all of it, on every path. Scenarios run on a booted, settled or saved system.
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { DomainSpec, RunPlan } from '../config/types.js';
import { Console, serialDuplex, type SeenWarning } from '../console/index.js';
import { parseDuration } from '../config/units.js';
import { Deadline } from '../deadline.js';
import { ConfigError, InfraError } from '../errors.js';
import { writeRepro, type KeptMachine } from '../forensics/index.js';
import { buildBootMedia } from '../image/index.js';
import { bootArgs, QEMU_BINARY, reservePort, socketDirFor, startMachine, stopMachine, type BootArgsInput, type Machine } from '../machine/index.js';
import type { Rig } from '../rig/manifest.js';
import type { ConsoleProtocol, ScenarioDrivers } from '../scenario/runner.js';
import { installEvidence, loadState, resume, saveState, type BootedState } from '../snapshot/index.js';
import { Dom0Link } from './dom0-link.js';
import { scenarioDrivers } from './drivers.js';

export type SystemState = 'booted' | 'loading' | 'settled' | 'saved' | 'closed';

/** Which states each state may move to; anything else is a bug in the caller. */
const NEXT: Record<SystemState, readonly SystemState[]> = {
  booted: ['settled', 'closed'],
  loading: ['settled', 'closed'],
  settled: ['saved', 'closed'],
  saved: ['closed'],
  closed: [],
};

/** Where one system lives and whom it tells. */
export interface SystemContext {
  /** The system's number in the run (1 is the first started), for logs and reports. */
  number: number;
  plan: Pick<RunPlan, 'logsDir' | 'boot' | 'sshPort'>;
  /** The domUs of the boot (the union of what the scenarios ask for). */
  domains: readonly DomainSpec[];
  /** The system's own folder for media, keys and sockets; removed by whoever made it. */
  workDir: string;
  info(line: string): void;
  /** A named moment of the system's life, for the timeline (epoch ms, default now). */
  phase(name: string, at?: number): void;
  /** A process that must not outlive the run (the action's post step stops leftovers). */
  onProcess?(pid: number): void;
  /** The run's top logs dir: forensics paths are relative to it. */
  logsRoot: string;
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
/** `cont` and `stop` over QMP answer at once; this bounds a wedged QEMU. */
const RESUME_DEADLINE_MS = 10_000;

/** How a system came to be, and what it knows from before (a restore's saved facts). */
interface Origin {
  kind: 'boot' | 'restore';
  machineInput: BootArgsInput;
  privateKeyPath: string;
  socketDir: string;
  /** A socket dir of our own (the work dir's path was too long), removed on close. */
  ownSocketDir?: string;
  reproDir?: string;
  /** Domains at their shells already: a restored state was saved settled. */
  shellsReady?: readonly string[];
  /** A restored system's boot warnings, seen before it was saved. */
  bootWarnings?: readonly SeenWarning[];
}

export class System {
  private state: SystemState;
  readonly console: Console;
  private readonly dom0: Dom0Link;
  /** When each domain's shell was proven (epoch ms); a shell proven once stays proven. */
  private readonly shells: Map<string, number>;
  private readonly consoleProtocol: ConsoleProtocol;
  /** Console line times count from here: they convert to wall time for the timeline. */
  private readonly consoleEpoch = Date.now();
  private machineExited = false;
  private warningsTaken = 0;
  private bootWarningsGiven = false;
  private readonly offBanner: () => void;
  /**
   * A booted system that nothing gates (nothing is saved) is settled once the scenarios' own
   * waits have proven every shell: 'watching' until then, so the timeline still has the moment.
   */
  private settledByScenarios: 'watching' | 'recorded' | undefined;
  /** Resolves when Xen's banner shows on the console. */
  private readonly banner: Promise<void>;

  // ── boot ──────────────────────────────────────────────────────────────────────────────

  /**
   * Builds the boot media, starts QEMU from u-boot or Xen itself and returns once Xen's banner
   * shows: no banner means nothing after it can come, so a dead boot ends here, not at the
   * first shell wait.
   */
  static async boot(ctx: SystemContext, rig: Rig): Promise<System> {
    const bannerMs = bannerDeadlineMs();
    const sshPort = await reservePort(ctx.plan.sshPort);
    const media = await buildBootMedia({ rig, domains: ctx.domains, boot: ctx.plan.boot, workDir: ctx.workDir, sshPort }, ctx.info);
    // Written before QEMU starts: a boot that hangs or dies still leaves its recipe behind.
    const reproDir = join(ctx.plan.logsDir, 'repro');
    await writeRepro(media, rig, ctx.workDir, reproDir);
    ctx.info(`booting: ${ctx.plan.boot} path, ssh on 127.0.0.1:${sshPort}, logs in ${ctx.plan.logsDir}`);
    ctx.phase('qemu start');
    const machine = await startMachine(media.launch, { logDir: ctx.plan.logsDir });
    ctx.onProcess?.(machine.pid);
    const system = new System(ctx, machine, 'booted', {
      kind: 'boot',
      machineInput: media.machineInput,
      privateKeyPath: media.sshKey.privateKeyPath,
      socketDir: media.socketDir,
      reproDir,
      ...(media.socketDir !== ctx.workDir ? { ownSocketDir: media.socketDir } : {}),
    });
    try {
      await system.bannerWithin(bannerMs);
    } catch (e) {
      await system.close();
      throw e;
    }
    return system;
  }

  // ── restore ───────────────────────────────────────────────────────────────────────────

  /**
   * Starts QEMU paused, loading a saved state, and returns at once. The pool lines up the
   * next scenario's system this way while the current scenario runs, so switching costs a
   * `cont`. activate() makes it a System in state `loading` and moves it on to `settled`.
   */
  static restore(ctx: SystemContext, saved: BootedState, sshPort: number): PendingSystem {
    let ownSocketDir: string | undefined;
    let machine: Machine | undefined;
    const loading = (async () => {
      const port = await reservePort(sshPort);
      await mkdir(ctx.workDir, { recursive: true });
      const socketDir = await socketDirFor(ctx.workDir);
      if (socketDir !== ctx.workDir) ownSocketDir = socketDir;
      const input: BootArgsInput = { ...saved.machineInput, serialSocket: join(socketDir, 'serial.sock'), qmpSocket: join(socketDir, 'qmp.sock'), sshPort: port };
      const launch = { binary: QEMU_BINARY, args: [...bootArgs(input), '-incoming', 'defer'], serialSocket: input.serialSocket, qmpSocket: input.qmpSocket, sshPort: port };
      ctx.info(`restoring the booted system saved ${saved.savedAt} (${(saved.bytes / 2 ** 20).toFixed(0)} MiB), ssh on 127.0.0.1:${port}, logs in ${ctx.plan.logsDir}`);
      // Before the console opens its logs: they continue the boot's history.
      const evidence = await installEvidence(saved, ctx.plan.logsDir);
      if (evidence.length > 0) ctx.info(`the saved system's boot evidence: ${evidence.join(', ')} in ${ctx.plan.logsDir}`);
      ctx.phase('restore start');
      machine = await startMachine(launch, { logDir: ctx.plan.logsDir });
      ctx.onProcess?.(machine.pid);
      const loaded = await loadState(machine, saved.stateFile, join(socketDir, 'state.sock'), LOAD_DEADLINE_MS);
      ctx.info(`machine state loaded in ${(loaded.durationMs / 1000).toFixed(1)} s`);
      ctx.phase('state loaded');
      const birth: Origin = {
        kind: 'restore',
        machineInput: input,
        privateKeyPath: saved.privateKeyPath,
        socketDir,
        shellsReady: saved.domains,
        ...(saved.warnings ? { bootWarnings: saved.warnings } : {}),
        ...(ownSocketDir ? { ownSocketDir } : {}),
      };
      return { machine, birth };
    })();
    // Awaited by activate() or discard(); a load that fails before either is not unhandled.
    loading.catch(() => undefined);
    /** Until a System owns them, the machine and the socket dir are ended here. */
    const unowned = async () => {
      // A failed load is reported by activate(); here only what it left running matters.
      await loading.catch(() => undefined);
      try {
        if (machine) await stopMachine(machine);
        if (ownSocketDir) await rm(ownSocketDir, { recursive: true, force: true });
      } catch (e) {
        ctx.info(`ending the unused restore: ${(e as Error).message}`);
      }
    };
    let taken = false;
    return {
      async activate() {
        taken = true;
        let system: System;
        try {
          const { machine: m, birth } = await loading;
          // The console attaches only now: a standby's paused machine has nothing to say.
          system = new System(ctx, m, 'loading', birth);
        } catch (e) {
          await unowned();
          throw e;
        }
        try {
          await system.activate();
          return system;
        } catch (e) {
          await system.close();
          throw e;
        }
      },
      async discard() {
        if (taken) return;
        taken = true;
        await unowned();
      },
    };
  }

  /** How the machine got to its shells: booted from media, or restored from a saved state. */
  readonly origin: 'boot' | 'restore';
  /** The system's number in the run. */
  readonly number: number;

  private constructor(
    private readonly ctx: SystemContext,
    readonly machine: Machine,
    initial: 'booted' | 'loading',
    private readonly birth: Origin,
  ) {
    this.state = initial;
    this.origin = birth.kind;
    this.number = ctx.number;
    const origin = birth;
    void writeFile(join(ctx.plan.logsDir, 'qemu.pid'), `${machine.pid}\n`).catch((e: unknown) => ctx.info(`qemu.pid not written: ${(e as Error).message}`));
    void machine.exited.then(() => {
      this.machineExited = true;
    });
    this.console = new Console(serialDuplex(machine.serial, machine.exited), {
      logDir: ctx.plan.logsDir,
      rawLog: false,
      domains: ctx.domains.map((d) => ({ name: d.name, domid: d.domid })),
      startedAfterBoot: origin.kind === 'restore',
    });
    let bannerSeen = () => {};
    this.banner = new Promise<void>((resolve) => (bannerSeen = resolve));
    const off = this.console.subscribe((line) => {
      if (line.source === 'xen' && XEN_BANNER.test(line.line)) {
        ctx.phase('xen banner', this.consoleEpoch + line.t);
        bannerSeen();
        off();
      }
    });
    this.offBanner = off;
    this.shells = new Map((origin.shellsReady ?? []).map((d) => [d, Date.now()]));
    this.dom0 = new Dom0Link(machine.sshPort, origin.privateKeyPath, () => ctx.phase('ssh ready'));
    this.consoleProtocol = {
      waitForShell: (domain, ms) => this.waitForShell(domain, ms),
      expect: (domain, pattern, ms) => this.console.expect(domain, pattern, ms),
      run: (domain, command, ms) => this.console.run(domain, command, ms),
      tail: (domain, lines) => this.console.tail(domain, lines),
    };
  }

  /** Where the repro folder (replay.sh and what it boots) was written; booted systems only. */
  get reproDir(): string | undefined {
    return this.birth.reproDir;
  }

  get current(): SystemState {
    return this.state;
  }

  private move(to: SystemState): void {
    if (!NEXT[this.state].includes(to)) throw new InfraError(`internal: a system cannot go from ${this.state} to ${to}`);
    this.state = to;
  }

  // ── booted → settled ──────────────────────────────────────────────────────────────────

  /**
   * The readiness gate: every domain at its shell and dom0 answering SSH, then the SSH link
   * closed and input focus on dom0, so nothing scenario-specific has happened yet.
   */
  async settle(deadlineMs: number): Promise<void> {
    if (this.state === 'settled' || this.state === 'saved') return;
    if (this.state !== 'booted') throw new InfraError(`internal: a ${this.state} system cannot settle`);
    await this.gate(Deadline.after(deadlineMs));
  }

  // ── loading → settled ─────────────────────────────────────────────────────────────────

  /** Lets a loaded state run and proves it is back: its shells were proven before the save. */
  private async activate(): Promise<void> {
    if (this.state !== 'loading') throw new InfraError(`internal: a ${this.state} system cannot be activated`);
    await resume(this.machine, RESUME_DEADLINE_MS);
    this.ctx.phase('restored');
    // QEMU migrates the EL1 timers' deadlines but not the EL2 one Xen runs on, so a
    // restored Xen's CPUs sleep until something interrupts them. Traffic to dom0 wakes
    // Xen, which then reprograms its timer; the SSH command also proves dom0 is back.
    await this.gate(Deadline.after(RESTORE_SETTLE_MS));
  }

  // ── settled → saved ───────────────────────────────────────────────────────────────────

  /** Saves the settled machine's state into `dir` and lets it run on. */
  async save(dir: string, deadlineMs: number): Promise<BootedState> {
    if (this.state !== 'settled') throw new InfraError(`internal: only a settled system is saved (this one is ${this.state})`);
    await mkdir(dir, { recursive: true });
    const file = join(dir, 'state.zst');
    let saved;
    try {
      saved = await saveState(this.machine, file, join(this.birth.socketDir, 'state.sock'), deadlineMs);
    } finally {
      // Saved or not, the machine goes on: a failed save falls back to booting, not to a stuck guest.
      await resume(this.machine, RESUME_DEADLINE_MS);
    }
    this.move('saved');
    this.ctx.phase('state saved');
    this.ctx.info(`booted system saved: ${(saved.bytes / 2 ** 20).toFixed(0)} MiB in ${(saved.durationMs / 1000).toFixed(1)} s`);
    return {
      dir,
      stateFile: file,
      machineInput: this.birth.machineInput,
      privateKeyPath: this.birth.privateKeyPath,
      domains: [...this.shells.keys()],
      savedAt: new Date().toISOString(),
      bytes: saved.bytes,
      warnings: [...(this.birth.bootWarnings ?? []), ...this.console.warnings],
    };
  }

  // ── any → closed ──────────────────────────────────────────────────────────────────────

  /** Ends everything the system started; safe to call from any state, more than once. */
  async close(): Promise<void> {
    if (this.state === 'closed') return;
    this.state = 'closed';
    this.offBanner();
    // Each part is ended even when an earlier one fails: nothing may outlive the system.
    const problems: string[] = [];
    const end = async (what: string, fn: () => Promise<unknown>) => {
      await fn().catch((e: unknown) => problems.push(`${what}: ${(e as Error).message}`));
    };
    await end('ssh', () => this.dom0.drop());
    await end('qemu', () => stopMachine(this.machine));
    await end('console', () => this.console.close());
    if (this.birth.ownSocketDir) await end('sockets', () => rm(this.birth.ownSocketDir!, { recursive: true, force: true }));
    if (this.console.retypedLines > 0) this.ctx.info(`console: ${this.console.retypedLines} typed line(s) arrived garbled and were typed again (see console-all.log)`);
    // A dropped SSH link to a machine that is going away anyway is not worth a word.
    for (const p of problems.filter((x) => !x.startsWith('ssh:'))) this.ctx.info(`closing the system: ${p}`);
  }

  // ── what scenarios use ────────────────────────────────────────────────────────────────

  /** The drivers one scenario runs against; each scenario gets its own background set. */
  driversFor(scenario: string): ScenarioDrivers {
    // A booted system need not settle first: when nothing is saved, the scenario's own wait
    // steps are the readiness gate, and their time shows in its steps.
    if (this.state === 'loading' || this.state === 'closed') throw new InfraError(`internal: scenario ${scenario} given a ${this.state} system`);
    if (this.state === 'booted' && this.settledByScenarios === undefined) {
      this.settledByScenarios = 'watching';
      this.noteSettledByScenarios();
    }
    return scenarioDrivers(
      {
        machine: this.machine,
        console: this.console,
        dom0: this.dom0,
        consoleProtocol: this.consoleProtocol,
        domains: this.ctx.domains,
        logsDir: this.ctx.plan.logsDir,
        logsRoot: this.ctx.logsRoot,
        info: this.ctx.info,
        machineGone: () => this.state === 'closed' || this.machineExited,
      },
      scenario,
    );
  }

  /**
   * The kernel and Xen warnings not yet taken: the first call also gets the boot's (a
   * restored system's come from its saved boot), later calls what appeared since.
   */
  takeWarnings(): SeenWarning[] {
    const fresh = this.console.warnings.slice(this.warningsTaken);
    this.warningsTaken = this.console.warnings.length;
    const boot = this.bootWarningsGiven ? [] : (this.birth.bootWarnings ?? []);
    this.bootWarningsGiven = true;
    return [...boot, ...fresh];
  }

  /** The machine as keep-alive-on-failure hands it to a developer. */
  keepable(): KeptMachine {
    return {
      attach: { sshPort: this.machine.sshPort, privateKeyPath: this.birth.privateKeyPath, serialSocket: this.birth.machineInput.serialSocket },
      // The console sees its stream end; nothing runs on this system afterwards.
      releaseSerial: () => this.machine.serial.close(),
      exited: this.machine.exited,
    };
  }

  // ── inside ────────────────────────────────────────────────────────────────────────────

  private async waitForShell(domain: string, ms: number): Promise<{ at: number }> {
    const known = this.shells.get(domain);
    if (known !== undefined) return { at: known };
    const at = this.consoleEpoch + (await this.console.waitForShell(domain, ms)).line.t;
    this.shells.set(domain, at);
    this.noteSettledByScenarios();
    return { at };
  }

  /**
   * The ungated system's `settled`: when the last of its shells showed, as the gate would have
   * found it (less the gate's own SSH `true` and focus move, which such a run never makes).
   */
  private noteSettledByScenarios(): void {
    if (this.settledByScenarios !== 'watching') return;
    const at = lastShellAt(['dom0', ...this.ctx.domains.map((d) => d.name)], this.shells);
    if (at === undefined) return;
    this.settledByScenarios = 'recorded';
    this.ctx.phase('settled', at);
  }

  /** Shells, then dom0 over SSH, then focus on dom0: what settled means, for both ways in. */
  private async gate(dl: Deadline): Promise<void> {
    for (const d of ['dom0', ...this.ctx.domains.map((x) => x.name)]) {
      const { at } = await this.waitForShell(d, dl.remainingMs());
      this.ctx.phase(`${d} shell`, at);
    }
    const link = await this.dom0.get(dl.remainingMs());
    const r = await link.exec('true', { deadline: dl.remainingMs() });
    if (r.exitCode !== 0) throw new InfraError(`dom0 did not run \`true\` over SSH (exit ${r.exitCode}): ${r.stderr.trim()}`);
    // No TCP connection may span a save: the restored machine's peer would be gone. (A
    // restored system is never saved again, and keeps its link for the first scenario.)
    if (this.origin === 'boot') await this.dom0.drop();
    await this.console.focus('dom0', dl);
    this.move('settled');
    this.ctx.phase('settled');
  }

  /** Resolves once Xen's banner was seen; an InfraError when QEMU exits or the deadline passes first. */
  private async bannerWithin(ms: number): Promise<void> {
    const machine = this.machine;
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
      await Promise.race([this.banner, late, exited]);
    } finally {
      clearTimeout(timer);
      // The race is over: a later exit is the run's business, not an unhandled rejection.
      exited.catch(() => undefined);
    }
  }
}

/** When the last of `domains`' shells was proven (epoch ms); undefined while one is not yet. */
export function lastShellAt(domains: readonly string[], shells: ReadonlyMap<string, number>): number | undefined {
  let last = Number.NEGATIVE_INFINITY;
  for (const d of domains) {
    const at = shells.get(d);
    if (at === undefined) return undefined;
    last = Math.max(last, at);
  }
  return domains.length > 0 ? last : undefined;
}

/** A system loading a saved state in the background: paused until it is activated. */
export interface PendingSystem {
  /** Waits for the load, lets the guest run, settles it and hands it over. */
  activate(): Promise<System>;
  /** Stops the machine without using it (the run ended or went another way). */
  discard(): Promise<void>;
}
