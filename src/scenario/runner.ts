// Runs one scenario's steps, in order, against the drivers of a booted machine. What each
// step does is its kind's (steps/); this is the order, the verdicts and the clean-up.
import type { Scenario } from '../config/types.js';
import { formatDuration } from '../config/units.js';
import { ConfigError, InfraError, ProductFailure } from '../errors.js';
import type { ScenarioDrivers } from '../steps/drivers.js';
import type { RunnerHooks, StepOutcome, StepProfile } from '../steps/kind.js';
import { runStep, type Step } from '../steps/registry.js';
import { scenarioStatus, type ErrorKind, type ScenarioResult, type Status, type StepResult } from './result.js';

// The protocols a step talks to, for the code that implements them (session, backends).
export type { BackendProtocol, CommandProtocol, CommandResult, ConsoleProtocol, ScenarioDrivers } from '../steps/drivers.js';
export type { RunnerHooks } from '../steps/kind.js';

/** Product failures fail the scenario; anything else is the harness's or the host's error. */
function classify(e: unknown): Status {
  return e instanceof ProductFailure ? 'failed' : 'error';
}

export function errorKind(e: unknown): ErrorKind {
  if (e instanceof ConfigError) return 'configuration';
  return e instanceof InfraError ? 'infrastructure' : 'internal';
}

/**
 * Runs a step, or ends it early with the death of a background process (a backend crash).
 * The abandoned step settles on its own deadline or when the session closes; nobody awaits it.
 */
async function stepOrDeath(step: Step, drivers: ScenarioDrivers, hooks: RunnerHooks): Promise<StepOutcome> {
  const running = runStep(step, drivers, hooks);
  const dead = drivers.whenDead?.();
  if (!dead) return running;
  running.catch(() => undefined);
  return Promise.race([running, dead.then((e) => Promise.reject(e))]);
}

/** A profile's numbers to a tenth: the clocks are finer than anything a reader compares. */
function tenths(profile: StepProfile): StepProfile {
  return Object.fromEntries(Object.entries(profile).map(([k, v]) => [k, Math.round((v as number) * 10) / 10])) as StepProfile;
}

function excerptOf(e: unknown): string | undefined {
  if (e instanceof ProductFailure || e instanceof InfraError) return e.detail.consoleTail;
  return undefined;
}

export async function runScenario(scenario: Scenario, drivers: ScenarioDrivers, hooks: RunnerHooks): Promise<ScenarioResult> {
  const startedAt = new Date();
  const t0 = Date.now();
  const steps: StepResult[] = [];
  let stopReason: string | undefined;
  try {
    for (const [i, step] of scenario.steps.entries()) {
      const base = { title: step.title, kind: step.kind, where: step.where };
      if (stopReason) {
        steps.push({ ...base, status: 'skipped', durationMs: 0, message: `not run: ${stopReason}`, notRun: true });
        continue;
      }
      const s0 = Date.now();
      let result: StepResult;
      try {
        const { excerpt, profile } = await stepOrDeath(step, drivers, hooks);
        const death = drivers.takeDeath?.();
        if (death) throw death;
        result = { ...base, status: 'passed', durationMs: Date.now() - s0, excerpt, ...(profile ? { profile: tenths(profile) } : {}) };
      } catch (e) {
        const death = drivers.takeDeath?.();
        const cause = death ?? e;
        const status = classify(cause);
        result = {
          ...base,
          status,
          durationMs: Date.now() - s0,
          message: (cause as Error).message,
          ...(excerptOf(cause) ? { excerpt: excerptOf(cause)! } : {}),
          ...(status === 'error' ? { errorKind: errorKind(cause) } : {}),
        };
        stopReason = `step ${i + 1} (${step.title}) ${status === 'failed' ? 'failed' : 'errored'}`;
      }
      steps.push(result);
      const mark = result.status === 'passed' ? 'ok  ' : result.status === 'failed' ? 'FAIL' : 'ERR ';
      hooks.progress(`${scenario.name} [${i + 1}/${scenario.steps.length}] ${mark} ${step.title} (${formatDuration(result.durationMs)})`);
    }
    // Before cleanup, so the backends and background commands are still there to be seen.
    const failed = steps.find((s) => s.status === 'failed' || s.status === 'error');
    if (failed && drivers.forensics) {
      const where = await drivers.forensics().catch((e: unknown) => {
        hooks.progress(`${scenario.name}: forensics failed: ${(e as Error).message}`);
        return undefined;
      });
      if (where) failed.forensics = where;
    }
  } finally {
    // A cleanup problem is reported but never replaces the steps' own results.
    await drivers.cleanup?.().catch((e: unknown) => hooks.progress(`${scenario.name}: cleanup failed: ${(e as Error).message}`));
  }
  return { name: scenario.name, file: scenario.file, status: scenarioStatus(steps), startedAt, durationMs: Date.now() - t0, steps };
}
