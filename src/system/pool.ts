// Which system each scenario runs on. The first is booted (or restored from a cached booted
// system); once it settles it is saved, and every later scenario that needs a fresh system
// gets a restore of that state. Scenarios marked fresh-boot, and runs where QEMU cannot save
// or load, boot.
//
// A pool has one lane per job (`jobs`): a lane runs one system at a time, and the scenarios
// are handed to lanes in batches (the scenarios that share a system) as lanes free up. With
// one lane, the next batch's restore is loaded in the background while the current scenario
// runs, so switching costs a `cont`; with several, each lane restores when it needs to.
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { DomainSpec, RunPlan, Scenario } from '../config/types.js';
import { InfraError } from '../errors.js';
import type { Rig } from '../rig/manifest.js';
import { newSystemAt } from '../scenario/systems-plan.js';
import type { SavedSystems } from './saved.js';
import { System, type PendingSystem, type SystemContext } from './system.js';

export interface PoolHooks {
  info(line: string): void;
  group<T>(title: string, fn: () => Promise<T>): Promise<T>;
  onProcess?(pid: number): void;
  /** A named moment of the run (epoch ms). */
  phase(name: string, at?: number): void;
  /** A stretch of the run for the timeline (epoch ms). */
  span(section: string, name: string, from: number, to?: number): void;
}

export interface PoolInput {
  plan: Pick<RunPlan, 'logsDir' | 'boot' | 'sshPort'>;
  /** The domUs of every system (the union of what the scenarios ask for). */
  domains: readonly DomainSpec[];
  rig: Rig;
  scenarios: readonly Scenario[];
  /** Each system gets a folder boot-<n> in here. */
  workDir: string;
  saved: SavedSystems | undefined;
  /** Aborted once the run is being stopped (deadline or cancel): no new system may start. */
  stop: AbortSignal;
}

export class SystemPool {
  readonly lanes: Lane[];
  /** The scenarios (by index) that share a system, in order: each batch starts a new one. */
  readonly batches: number[][];
  private count = 0;

  constructor(
    readonly input: PoolInput,
    readonly hooks: PoolHooks,
    jobs = 1,
  ) {
    this.batches = batchesOf(newSystemAt(input.scenarios));
    const lanes = Math.max(1, Math.min(jobs, this.batches.length));
    this.lanes = Array.from({ length: lanes }, (_, k) => new Lane(k + 1, this, lanes === 1));
  }

  /** Systems are numbered across lanes, in the order they start. */
  nextNumber(): number {
    return ++this.count;
  }

  /** Ends every system of every lane now (a cancel or the deadline); safe to call more than once. */
  async closeAll(): Promise<void> {
    await Promise.all(this.lanes.map((l) => l.closeAll()));
  }
}

/** Groups scenario indexes by system: a batch starts wherever `starts` says a new system does. */
export function batchesOf(starts: readonly boolean[]): number[][] {
  const batches: number[][] = [];
  starts.forEach((start, i) => {
    if (start || batches.length === 0) batches.push([i]);
    else batches[batches.length - 1]!.push(i);
  });
  return batches;
}

/** One system at a time, one after another: what a run without `jobs` is. */
export class Lane {
  /** The system the last scenario ran on (keep-alive hands it to a developer). */
  current: System | undefined;
  /** The current system saw a scenario fail: whatever it left behind must not meet the next one. */
  private spoiled = false;
  /** Systems being shut down in the background while the next one takes over. */
  private closing: Promise<void>[] = [];
  private standby: { pending: PendingSystem; n: number; startedAt: number } | undefined;
  private readonly starts: boolean[];

  constructor(
    readonly number: number,
    private readonly pool: SystemPool,
    /** Whether to load the next batch's system while the current one runs (a lone lane knows its next batch). */
    private readonly lineUp: boolean,
  ) {
    this.starts = newSystemAt(pool.input.scenarios);
  }

  /** The current system must not run another scenario (one failed on it). */
  spoilCurrent(): void {
    this.spoiled = true;
  }

  /** The system scenario `i` runs on; a new one when it needs it, or when `fresh` asks for one. */
  async forScenario(i: number, opts: { fresh?: boolean } = {}): Promise<System> {
    if (this.current && !this.starts[i] && !this.spoiled && !opts.fresh) return this.current;
    this.spoiled = false;
    const old = this.current;
    this.current = undefined;
    const scenario = this.pool.input.scenarios[i]!;
    // A lined-up restore has its own port: the old system may end while it takes over.
    // Anything else may need the old system's port (or its CPU, for a boot): end it first.
    if (old && this.standby && !scenario.freshBoot) this.closing.push(old.close());
    else await old?.close();
    const s = await this.open(scenario);
    this.current = s;
    if (this.pool.input.stop.aborted) throw new InfraError(String(this.pool.input.stop.reason));
    if (this.lineUp) this.lineUpAfter(i);
    return s;
  }

  /** Ends this lane's systems now; safe to call more than once. */
  async closeAll(): Promise<void> {
    const standby = this.standby;
    this.standby = undefined;
    await Promise.all([this.current?.close(), standby?.pending.discard(), ...this.closing]);
  }

  /** While scenario i runs, the next new system (if it can be a restore) starts loading. */
  private lineUpAfter(i: number): void {
    const { scenarios, saved } = this.pool.input;
    const next = this.starts.indexOf(true, i + 1);
    const state = saved?.state;
    if (next < 0 || !state || scenarios[next]!.freshBoot || this.standby) return;
    const n = this.pool.nextNumber();
    // The running system holds the requested port; a standby takes any free one.
    const pending = System.restore(this.context(n), state, 0);
    this.standby = { pending, n, startedAt: Date.now() };
  }

  private async open(scenario: Scenario): Promise<System> {
    const { saved, plan, rig, scenarios, workDir } = this.pool.input;
    const hooks = this.pool.hooks;
    // Another lane is booting the system that will be saved: restoring it beats booting beside
    // it. No await comes between looking for a claim and taking one, so two lanes never both boot.
    while (!scenario.freshBoot && !saved?.state && saved?.claimHeld()) await saved.waitForClaim();
    const state = scenario.freshBoot ? undefined : saved?.state;
    // Taken before any await, for the reason above; dropped if this lane's boot never comes.
    const claim = state ? undefined : saved?.claimSave(scenarios.length);
    if (state) {
      const standby = this.standby ?? { pending: undefined, n: this.pool.nextNumber(), startedAt: Date.now() };
      this.standby = undefined;
      const { n, startedAt } = standby;
      try {
        const pending = standby.pending ?? System.restore(this.context(n), state, this.sshPort());
        const s = await hooks.group(`system ${n}: restored from the saved booted system`, () => pending.activate());
        hooks.span('system', `restore ${n}`, startedAt);
        return s;
      } catch (e) {
        if (this.pool.input.stop.aborted) throw e;
        // Unusable from now on (and not wanted again): this lane boots, unsaved.
        await saved!.unusable(state, e as Error);
      }
    }
    const n = this.pool.nextNumber();
    const t0 = Date.now();
    const ctx = this.context(n);
    let s: System;
    try {
      if (this.standby) {
        // A fresh-boot scenario does not use the restore lined up for it.
        await this.standby.pending.discard();
        this.standby = undefined;
      }
      await mkdir(ctx.workDir, { recursive: true });
      s = await hooks.group(`system ${n}: ${plan.boot} boot`, () => System.boot(ctx, rig));
    } catch (e) {
      claim?.drop();
      throw e;
    }
    // Held at once: a stop during the save must still end this machine.
    this.current = s;
    if (claim) {
      let settled = Date.now();
      await claim.save(
        {
          settle: async (ms) => {
            await s.settle(ms);
            settled = Date.now();
          },
          save: (d, ms) => s.save(d, ms),
        },
        join(workDir, 'state'),
      );
      hooks.span('system', `boot ${n}`, t0, settled);
      hooks.span('system', `save`, settled);
    } else hooks.span('system', `boot ${n}`, t0);
    return s;
  }

  /** The first lane may have the port the user asked for; the others take any free one. */
  private sshPort(): number {
    return this.number === 1 ? this.pool.input.plan.sshPort : 0;
  }

  /** System n's place: later systems keep their logs beside the first one's. */
  private context(n: number): SystemContext {
    const { plan, workDir, domains } = this.pool.input;
    const hooks = this.pool.hooks;
    return {
      number: n,
      plan: { ...plan, sshPort: this.sshPort(), logsDir: n === 1 ? plan.logsDir : join(plan.logsDir, `boot-${n}`) },
      domains,
      workDir: join(workDir, `boot-${n}`),
      info: hooks.info,
      phase: (name, at) => hooks.phase(n === 1 ? name : `${name} (${n})`, at),
      logsRoot: plan.logsDir,
      ...(hooks.onProcess ? { onProcess: hooks.onProcess } : {}),
    };
  }
}
