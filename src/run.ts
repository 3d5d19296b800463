// The one core behind the action and the CLI: a RunPlan in, a RunResult out, with the
// report written and nothing left running. Front ends only adapt inputs and outputs.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { RunPlan } from './config/types.js';
import { ConfigError, ExitCode, ProductFailure } from './errors.js';
import { buildSummary, writeJunit } from './report/index.js';
import { obtainRig } from './rig/index.js';
import type { Rig } from './rig/manifest.js';
import { counts, type RunResult } from './scenario/result.js';
import { erroredScenario, missingCapabilities, skippedScenario } from './scenario/outcomes.js';

export interface RunHooks {
  info(line: string): void;
  warn(line: string): void;
  /** Folds a phase's output (an Actions log group; a heading in the CLI). */
  group<T>(title: string, fn: () => Promise<T>): Promise<T>;
  /** Whether the Actions cache may be used for rigs. */
  remoteCache: boolean;
  /** Told about each rig obtained, so the action's post step can save it to the cache. */
  onRig?(rig: Rig, key: string, cacheHit: boolean): void;
}

export async function executePlan(plan: RunPlan, hooks: RunHooks): Promise<RunResult> {
  const start = Date.now();
  const result: RunResult = { scenarios: [], phases: [], properties: { boot: plan.boot, 'rig.request': plan.rig.provider } };
  mkdirSync(plan.logsDir, { recursive: true });

  let rig: Rig;
  try {
    const got = await hooks.group(`rig: ${plan.rig.provider}`, () =>
      obtainRig(plan.rig, { cacheDir: plan.cache.dir, log: hooks.info, remoteCache: hooks.remoteCache && plan.cache.enabled, useCache: plan.cache.enabled }),
    );
    rig = got.rig;
    result.rig = { key: got.key, provider: rig.manifest.provider, versions: rig.manifest.versions, cacheHit: got.cacheHit };
    result.phases.push({ name: 'rig ready', atMs: Date.now() - start });
    hooks.onRig?.(rig, got.key, got.cacheHit);
  } catch (e) {
    if (e instanceof ConfigError) throw e;
    const message = `rig ${plan.rig.provider}: ${(e as Error).message}`;
    result.fatal = { status: 'error', message };
    result.scenarios = plan.scenarios.map((s) => erroredScenario(s, message));
    return result;
  }

  const runnable = [];
  for (const scenario of plan.scenarios) {
    const missing = missingCapabilities(scenario, rig.manifest.capabilities);
    if (missing.length > 0) {
      const reason = `the ${rig.manifest.provider} rig lacks ${missing.join(', ')}`;
      hooks.info(`${scenario.name}: skipped (${reason})`);
      result.scenarios.push(skippedScenario(scenario, reason));
    } else runnable.push(scenario);
  }
  if (runnable.length === 0) return result;

  // Booting the rig and driving its consoles is the next stage to land (issue 4); until
  // then the scenarios that could run are reported as errors, never as passes.
  const message = 'booting the rig and driving its consoles is not built yet';
  result.fatal = { status: 'error', message };
  for (const scenario of runnable) result.scenarios.push(erroredScenario(scenario, message));
  return result;
}

/** A product failure outranks an infrastructure error: it is a real regression. */
export function exitCodeFor(result: RunResult): number {
  const c = counts(result);
  if (c.failed > 0) return ExitCode.failed;
  if (c.error > 0 || result.fatal) return ExitCode.infrastructure;
  return ExitCode.passed;
}

export function exitCodeForError(e: unknown): number {
  if (e instanceof ConfigError) return ExitCode.usage;
  if (e instanceof ProductFailure) return ExitCode.failed;
  return ExitCode.infrastructure;
}

/** Writes JUnit and the Markdown summary; returns the summary for the job page. */
export function writeReports(plan: Pick<RunPlan, 'junitPath' | 'logsDir'>, result: RunResult): string {
  writeJunit(result, plan.junitPath);
  const summary = buildSummary(result, plan);
  mkdirSync(plan.logsDir, { recursive: true });
  writeFileSync(join(plan.logsDir, 'summary.md'), summary);
  return summary;
}
