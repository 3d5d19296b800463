// The run's policy for saved booted systems: look one up in the cache, save the first boot
// once it settles when a later scenario or run can use it, fall back to booting when QEMU
// cannot save or load, and keep what was saved for the next run. It reports what it found
// as plain facts (facts()); the run alone writes them into its result.
import { join } from 'node:path';
import type { DomainSpec, RunPlan } from '../config/types.js';
import { planBootMedia } from '../image/media.js';
import { restoreRemote } from '../rig/cache.js';
import type { Rig } from '../rig/manifest.js';
import { bootedStateKey, captureEvidence, discardBootedState, findBootedState, statesDir, storeBootedState, type BootedState } from '../snapshot/index.js';
import type { System } from './system.js';

/** A boot's shells take ~15–30 s under TCG here; minutes of load happen on shared runners. */
export const SETTLE_DEADLINE_MS = 5 * 60_000;
const SAVE_DEADLINE_MS = 2 * 60_000;

export interface SavedSystemsHooks {
  info(line: string): void;
  warn(line: string): void;
  /** Whether the Actions cache may be used (as for rigs). */
  remoteCache: boolean;
  /** Told about a booted system newly cached, so the action's post step can save it. */
  onBootedState?(key: string, dir: string): void;
}

export interface SavedSystemsInput {
  plan: Pick<RunPlan, 'cache' | 'boot' | 'logsDir'>;
  /** The domUs of the boot. */
  domains: readonly DomainSpec[];
  rig: Rig;
  /** The rig's cache key; absent when the rig did not come through the cache. */
  rigKey: string | undefined;
}

/** The one boot of a run that is saved, held by the lane booting it until it is saved or lost. */
export interface SaveClaim {
  /** Settles the system (a failure there is the boot's own and propagates), then saves it. */
  save(system: Pick<System, 'settle' | 'save'>, dir: string): Promise<void>;
  /** The boot failed before it could be saved: another lane may boot and save instead. */
  drop(): void;
}

export class SavedSystems {
  /** What the next system that needs to be fresh restores from. */
  state: BootedState | undefined;
  private toKeep: BootedState | undefined;
  private unavailable: string | undefined;
  private cacheHit = false;
  /** Set while a lane boots the system that will be saved; other lanes wait for it. */
  private claimed: Promise<void> | undefined;

  private constructor(
    private readonly input: SavedSystemsInput,
    private readonly hooks: SavedSystemsHooks,
    /** The cross-run cache key; absent when the cache is off. */
    private readonly key: string | undefined,
  ) {}

  static async prepare(input: SavedSystemsInput, hooks: SavedSystemsHooks): Promise<SavedSystems> {
    const { plan, rig } = input;
    if (!plan.cache.enabled || input.rigKey === undefined) return new SavedSystems(input, hooks, undefined);
    // The media plan writes nothing: it is what the boot would be, without the run's key.
    const media = planBootMedia({ rig, domains: input.domains, boot: plan.boot, workDir: '/xen-pvh-virtio-plan', sshPort: 0 });
    const key = await bootedStateKey({ rig, rigKey: input.rigKey, boot: plan.boot, domains: [...input.domains], media });
    const s = new SavedSystems(input, hooks, key);
    s.state = await findBootedState(plan.cache.dir, key);
    if (!s.state && hooks.remoteCache && (await restoreRemote(key, join(statesDir(plan.cache.dir), key), hooks.info, 'state'))) {
      s.state = await findBootedState(plan.cache.dir, key);
    }
    s.cacheHit = s.state !== undefined;
    if (s.state) hooks.info(`booted system cache hit: ${s.state.dir} (saved ${s.state.savedAt})`);
    return s;
  }

  /** What the run reports about saved systems (JUnit properties). */
  facts(): Record<string, string> {
    return {
      ...(this.key ? { 'snapshot.key': this.key, 'snapshot.cache-hit': String(this.cacheHit) } : {}),
      ...(this.unavailable ? { 'snapshot.unavailable': this.unavailable.split('\n')[0]! } : {}),
    };
  }

  /** Whether a boot should be saved: a later scenario or a later run can use it. */
  wanted(scenarios: number): boolean {
    return this.state === undefined && this.unavailable === undefined && (scenarios > 1 || this.key !== undefined);
  }

  /**
   * The right to save the boot about to start, when one is wanted and no other lane holds it.
   * Held from before the boot, so that a lane opening a system meanwhile waits (waitForClaim)
   * and restores the saved one rather than booting and saving beside it.
   */
  claimSave(scenarios: number): SaveClaim | undefined {
    if (this.claimed || !this.wanted(scenarios)) return undefined;
    let release!: () => void;
    this.claimed = new Promise<void>((resolve) => (release = resolve));
    const end = () => {
      this.claimed = undefined;
      release();
    };
    return {
      save: async (system, dir) => {
        try {
          await this.saveFrom(system, dir);
        } finally {
          end();
        }
      },
      drop: end,
    };
  }

  /** Whether a lane is booting the system that will be saved. */
  claimHeld(): boolean {
    return this.claimed !== undefined;
  }

  /** Resolves once no lane is booting a system to save (at once when none is). */
  async waitForClaim(): Promise<void> {
    while (this.claimed) await this.claimed;
  }

  /** A failed save is reported and the run goes on booting each scenario afresh. */
  private async saveFrom(system: Pick<System, 'settle' | 'save'>, dir: string): Promise<void> {
    await system.settle(SETTLE_DEADLINE_MS);
    try {
      this.state = await system.save(dir, SAVE_DEADLINE_MS);
      await captureEvidence(this.input.plan.logsDir, this.state);
      if (this.key) this.toKeep = this.state;
    } catch (e) {
      this.markUnavailable(`QEMU could not save the booted system: ${(e as Error).message}`);
    }
  }

  /** A restore failed: never try this state again, and boot instead. */
  async unusable(state: BootedState, e: Error): Promise<void> {
    if (state.key) await discardBootedState(this.input.plan.cache.dir, state.key);
    this.state = undefined;
    this.toKeep = undefined;
    this.markUnavailable(`QEMU could not restore the saved booted system: ${e.message}`);
  }

  /** Stores the state saved in this run in the cache (the run's work dir is about to go). */
  async keep(): Promise<void> {
    if (!this.toKeep || !this.key) return;
    const kept = await storeBootedState(this.input.plan.cache.dir, this.key, this.toKeep, this.input.rig.dir);
    this.hooks.info(`booted system cached: ${kept.dir}`);
    this.hooks.onBootedState?.(this.key, kept.dir);
  }

  private markUnavailable(why: string): void {
    this.unavailable = why;
    this.hooks.warn(`${why}\nfalling back to one boot per scenario that needs a fresh system`);
  }
}
