// The run's policy for saved booted systems: look one up in the cache, save the first
// boot once it settles when a later scenario or run can use it, fall back to booting when
// QEMU cannot save or load, and keep what was saved for the next run.
import type { RunPlan } from '../config/types.js';
import { planBootMedia } from '../image/media.js';
import type { Rig } from '../rig/manifest.js';
import type { RunResult } from '../scenario/result.js';
import { join } from 'node:path';
import { restoreRemote } from '../rig/cache.js';
import { captureEvidence } from './evidence.js';
import { bootedStateKey, discardBootedState, findBootedState, statesDir, storeBootedState, type BootedState } from './booted.js';

/** A boot's shells take ~15–30 s under TCG here; minutes of load happen on shared runners. */
export const SETTLE_DEADLINE_MS = 5 * 60_000;
const SAVE_DEADLINE_MS = 2 * 60_000;

/** What a session offers for saving (session.ts implements it). */
export interface Savable {
  settle(deadlineMs: number): Promise<void>;
  save(dir: string, deadlineMs: number): Promise<BootedState>;
}

export interface SnapshotHooks {
  info(line: string): void;
  warn(line: string): void;
  /** Whether the Actions cache may be used (as for rigs). */
  remoteCache: boolean;
  /** Told about a booted system newly cached, so the action's post step can save it. */
  onBootedState?(key: string, dir: string): void;
}

export class Snapshots {
  /** What the next session that needs a fresh system restores from. */
  state: BootedState | undefined;
  private toKeep: BootedState | undefined;
  private unavailable: string | undefined;

  private constructor(
    private readonly plan: RunPlan,
    private readonly rig: Rig,
    private readonly result: RunResult,
    private readonly hooks: SnapshotHooks,
    /** The cross-run cache key; absent when the cache is off. */
    private readonly key: string | undefined,
  ) {}

  static async prepare(plan: RunPlan, rig: Rig, result: RunResult, hooks: SnapshotHooks): Promise<Snapshots> {
    if (!plan.cache.enabled || !result.rig) return new Snapshots(plan, rig, result, hooks, undefined);
    // The media plan writes nothing: it is what the boot would be, without the run's key.
    const media = planBootMedia({ rig, domains: plan.domains, boot: plan.boot, workDir: '/xen-pvh-virtio-plan', sshPort: 0 });
    const key = await bootedStateKey({ rig, rigKey: result.rig.key, boot: plan.boot, domains: plan.domains, media });
    const s = new Snapshots(plan, rig, result, hooks, key);
    s.state = await findBootedState(plan.cache.dir, key);
    if (!s.state && hooks.remoteCache && (await restoreRemote(key, join(statesDir(plan.cache.dir), key), hooks.info, 'state'))) {
      s.state = await findBootedState(plan.cache.dir, key);
    }
    result.properties['snapshot.key'] = key;
    result.properties['snapshot.cache-hit'] = String(s.state !== undefined);
    if (s.state) hooks.info(`booted system cache hit: ${s.state.dir} (saved ${s.state.savedAt})`);
    return s;
  }

  /** Whether the boot just started should be saved: a later scenario or a later run can use it. */
  wanted(scenarios: number): boolean {
    return this.state === undefined && this.unavailable === undefined && (scenarios > 1 || this.key !== undefined);
  }

  /**
   * Settles the session (a failure there is the boot's own and propagates), then saves it.
   * A failed save is reported and the run goes on booting each scenario afresh.
   */
  async saveFrom(session: Savable, dir: string): Promise<void> {
    await session.settle(SETTLE_DEADLINE_MS);
    try {
      this.state = await session.save(dir, SAVE_DEADLINE_MS);
      await captureEvidence(this.plan.logsDir, this.state);
      if (this.key) this.toKeep = this.state;
    } catch (e) {
      this.markUnavailable(`QEMU could not save the booted system: ${(e as Error).message}`);
    }
  }

  /** A restore failed: never try this state again, and boot instead. */
  async unusable(state: BootedState, e: Error): Promise<void> {
    if (state.key) await discardBootedState(this.plan.cache.dir, state.key);
    this.state = undefined;
    this.toKeep = undefined;
    this.markUnavailable(`QEMU could not restore the saved booted system: ${e.message}`);
  }

  /** Stores the state saved in this run in the cache (the run's work dir is about to go). */
  async keep(): Promise<void> {
    if (!this.toKeep || !this.key) return;
    const kept = await storeBootedState(this.plan.cache.dir, this.key, this.toKeep, this.rig.dir);
    this.hooks.info(`booted system cached: ${kept.dir}`);
    this.hooks.onBootedState?.(this.key, kept.dir);
  }

  private markUnavailable(why: string): void {
    this.unavailable = why;
    this.result.properties['snapshot.unavailable'] = why.split('\n')[0]!;
    this.hooks.warn(`${why}\nfalling back to one boot per scenario that needs a fresh system`);
  }
}
