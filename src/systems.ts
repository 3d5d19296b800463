// Which machine each scenario runs on. The first is booted (or restored from a cached
// booted system); once it settles it is saved, and every later scenario that needs a fresh
// system gets a restore of that state, loaded in the background while the scenario before
// it runs. Scenarios marked fresh-boot, and runs where QEMU cannot save or load, boot.
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { RunPlan, Scenario } from './config/types.js';
import { InfraError } from './errors.js';
import type { Rig } from './rig/manifest.js';
import { openSession, startRestore, type PendingRestore, type Session, type SessionHooks } from './session.js';
import type { Snapshots } from './snapshot/snapshots.js';
import { newSystemAt } from './scenario/systems-plan.js';

export interface SystemsHooks {
  info(line: string): void;
  group<T>(title: string, fn: () => Promise<T>): Promise<T>;
  onProcess?(pid: number): void;
  /** A named moment of the run (epoch ms). */
  phase(name: string, at?: number): void;
  /** A stretch of the run for the timeline (epoch ms). */
  span(section: string, name: string, from: number, to?: number): void;
  /** Set once the run is being stopped (deadline or cancel): nothing new may start. */
  stopReason(): string | undefined;
}

export class Systems {
  /** The system the last scenario ran on (keep-alive hands it to a developer). */
  current: Session | undefined;
  /** The current system saw a scenario fail: whatever it left behind must not meet the next one. */
  private spoiled = false;
  /** Systems being shut down in the background while the next one takes over. */
  private closing: Promise<void>[] = [];
  private standby: { pending: PendingRestore; n: number; startedAt: number } | undefined;
  private count = 0;
  private readonly starts: boolean[];

  constructor(
    private readonly plan: RunPlan,
    private readonly rig: Rig,
    private readonly scenarios: readonly Scenario[],
    private readonly workDir: string,
    private readonly snapshots: Snapshots | undefined,
    private readonly hooks: SystemsHooks,
  ) {
    this.starts = newSystemAt(scenarios);
  }

  /** The current system must not run another scenario (one failed on it). */
  spoilCurrent(): void {
    this.spoiled = true;
  }

  /** The system scenario `i` runs on; a new one when it needs it, or when `fresh` asks for one. */
  async forScenario(i: number, opts: { fresh?: boolean } = {}): Promise<Session> {
    if (this.current && !this.starts[i] && !this.spoiled && !opts.fresh) return this.current;
    this.spoiled = false;
    const old = this.current;
    this.current = undefined;
    // A lined-up restore has its own port: the old system may end while it takes over.
    // Anything else may need the old system's port (or its CPU, for a boot): end it first.
    if (old && this.standby && !this.scenarios[i]!.freshBoot) this.closing.push(old.close());
    else await old?.close();
    const s = await this.open(this.scenarios[i]!);
    this.current = s;
    const stop = this.hooks.stopReason();
    if (stop) throw new InfraError(stop);
    this.lineUpAfter(i);
    return s;
  }

  /** Ends every machine now (a cancel or the deadline); safe to call more than once. */
  async closeAll(): Promise<void> {
    const standby = this.standby;
    this.standby = undefined;
    await Promise.all([this.current?.close(), standby?.pending.discard(), ...this.closing]);
  }

  /** While scenario i runs, the next new system (if it can be a restore) starts loading. */
  private lineUpAfter(i: number): void {
    const next = this.starts.indexOf(true, i + 1);
    const state = this.snapshots?.state;
    if (next < 0 || !state || this.scenarios[next]!.freshBoot || this.standby) return;
    const n = ++this.count;
    // The running system holds the requested port; a standby takes any free one.
    const pending = startRestore(this.sessionPlan(n), state, join(this.workDir, `boot-${n}`), this.sessionHooks(n), 0);
    this.standby = { pending, n, startedAt: Date.now() };
  }

  private async open(scenario: Scenario): Promise<Session> {
    const state = scenario.freshBoot ? undefined : this.snapshots?.state;
    if (state) {
      const standby = this.standby ?? { pending: undefined, n: ++this.count, startedAt: Date.now() };
      this.standby = undefined;
      const { n, startedAt } = standby;
      try {
        const pending = standby.pending ?? startRestore(this.sessionPlan(n), state, join(this.workDir, `boot-${n}`), this.sessionHooks(n));
        const s = await this.hooks.group(`system ${n}: restored from the saved booted system`, () => pending.activate());
        this.hooks.span('system', `restore ${n}`, startedAt);
        return s;
      } catch (e) {
        if (this.hooks.stopReason()) throw e;
        await this.snapshots!.unusable(state, e as Error);
      }
    } else if (this.standby) {
      // A fresh-boot scenario does not use the restore lined up for it.
      await this.standby.pending.discard();
      this.standby = undefined;
    }
    const n = ++this.count;
    const t0 = Date.now();
    const dir = join(this.workDir, `boot-${n}`);
    await mkdir(dir, { recursive: true });
    const s = await this.hooks.group(`system ${n}: ${this.plan.boot} boot`, () => openSession(this.sessionPlan(n), this.rig, dir, this.sessionHooks(n)));
    // Held at once: a stop during the save must still end this machine.
    this.current = s;
    if (this.snapshots?.wanted(this.scenarios.length)) {
      let settled = Date.now();
      await this.snapshots.saveFrom({ settle: async (ms) => {
        await s.settle(ms);
        settled = Date.now();
      }, save: (d, ms) => s.save(d, ms) }, join(this.workDir, 'state'));
      this.hooks.span('system', `boot ${n}`, t0, settled);
      this.hooks.span('system', `save`, settled);
    } else this.hooks.span('system', `boot ${n}`, t0);
    return s;
  }

  /** Later systems keep their logs beside the first one's. */
  private sessionPlan(n: number): RunPlan {
    return { ...this.plan, logsDir: n === 1 ? this.plan.logsDir : join(this.plan.logsDir, `boot-${n}`) };
  }

  private sessionHooks(n: number): SessionHooks {
    return {
      info: this.hooks.info,
      phase: (name, at) => this.hooks.phase(n === 1 ? name : `${name} (${n})`, at),
      logsRoot: this.plan.logsDir,
      ...(this.hooks.onProcess ? { onProcess: this.hooks.onProcess } : {}),
    };
  }
}
