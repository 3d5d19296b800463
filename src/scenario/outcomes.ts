// Results for scenarios that could not run their steps: skipped for a missing
// capability, or errored because something before them (rig, boot) failed.
import type { Scenario } from '../config/types.js';
import type { Capability } from '../rig/manifest.js';
import type { ScenarioResult } from './result.js';

export function missingCapabilities(scenario: Scenario, have: readonly Capability[]): Capability[] {
  return scenario.requires.filter((c) => !have.includes(c));
}

export function skippedScenario(scenario: Scenario, reason: string, startedAt = new Date()): ScenarioResult {
  return {
    name: scenario.name,
    file: scenario.file,
    status: 'skipped',
    skipReason: reason,
    startedAt,
    durationMs: 0,
    steps: scenario.steps.map((s) => ({ title: s.title, kind: s.kind, status: 'skipped' as const, durationMs: 0, where: s.where, message: reason })),
  };
}

/** The first step carries the error; the rest say they never ran. */
export function erroredScenario(scenario: Scenario, message: string, excerpt?: string, startedAt = new Date()): ScenarioResult {
  return {
    name: scenario.name,
    file: scenario.file,
    status: 'error',
    startedAt,
    durationMs: 0,
    steps: scenario.steps.map((s, i) => ({
      title: s.title,
      kind: s.kind,
      status: i === 0 ? ('error' as const) : ('skipped' as const),
      durationMs: 0,
      where: s.where,
      message: i === 0 ? message : `not run: ${message}`,
      ...(i === 0 && excerpt ? { excerpt } : {}),
    })),
  };
}
