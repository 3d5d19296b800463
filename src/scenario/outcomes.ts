// Results for scenarios that could not run their steps: skipped for a missing
// capability, or errored because something before them (rig, boot) failed.
import type { Scenario } from '../config/types.js';
import type { Capability } from '../rig/manifest.js';
import type { ScenarioResult } from './result.js';

/**
 * What the rig lacks for this scenario: its required capabilities, and for each virtio-pci
 * domain that leaves the choice to the rig, one of the two ways to describe its host bridge
 * (image/host-bridge.ts).
 */
export function missingCapabilities(scenario: Scenario, have: readonly Capability[]): string[] {
  const missing: string[] = scenario.requires.filter((c) => !have.includes(c));
  const either = ['dom0less-virtio-pci', 'trap-unmapped-accesses'] as const;
  const open = scenario.domains.filter((d) => d.virtioPci && !d.virtioPciNode).map((d) => d.name);
  if (open.length && !either.some((c) => have.includes(c))) {
    missing.push(`${either.join(' or ')} (to describe the virtio-pci host bridge of ${open.join(', ')})`);
  }
  return missing;
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
  return endedEarly(scenario, 'error', message, excerpt, startedAt);
}

/** The system under test failed before the scenario's steps could run (e.g. a panic at boot). */
export function failedScenario(scenario: Scenario, message: string, excerpt?: string, startedAt = new Date()): ScenarioResult {
  return endedEarly(scenario, 'failed', message, excerpt, startedAt);
}

function endedEarly(scenario: Scenario, status: 'error' | 'failed', message: string, excerpt: string | undefined, startedAt: Date): ScenarioResult {
  return {
    name: scenario.name,
    file: scenario.file,
    status,
    startedAt,
    durationMs: 0,
    steps: scenario.steps.map((s, i) => ({
      title: s.title,
      kind: s.kind,
      status: i === 0 ? status : ('skipped' as const),
      durationMs: 0,
      where: s.where,
      message: i === 0 ? message : `not run: ${message}`,
      ...(i === 0 && excerpt ? { excerpt } : {}),
      ...(i > 0 ? { notRun: true as const } : {}),
    })),
  };
}
