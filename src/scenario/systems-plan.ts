// Which scenarios share a system and which need a new one: pure planning, used by the run
// (src/system/pool.ts) and printed by `plan`.
import type { Scenario } from '../config/types.js';
import { stepChangesSystem } from '../steps/registry.js';

/**
 * A scenario with a step that changes the system (a backend leaves PCI devices, drivers and
 * Xen IOREQ state in the domU behind): nothing runs after it on that system. Each step kind
 * says whether it does (steps/), so a new kind cannot be forgotten here.
 */
export function changesDomains(scenario: Scenario): boolean {
  return scenario.steps.some(stepChangesSystem);
}

/** For each scenario, whether it starts on a new system (the first always does). */
export function newSystemAt(scenarios: readonly Scenario[]): boolean[] {
  const starts: boolean[] = [];
  let ran = 0;
  let dirty = false;
  for (const s of scenarios) {
    const fresh = starts.length === 0 || dirty || (ran > 0 && (changesDomains(s) || s.freshBoot === true));
    starts.push(fresh);
    if (fresh) ran = 0;
    ran++;
    dirty = changesDomains(s);
  }
  return starts;
}
