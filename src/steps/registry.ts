// Every step kind, and what the rest of the harness asks of a step through them: config/
// builds the scenario file's schema and parses steps, scenario/ runs them and plans which
// scenarios share a system. Nothing outside steps/ names a kind, so a new kind is a module
// and one line below; `Step` is derived from this list.
import type { z } from 'zod';
import type { Capability } from '../rig/manifest.js';
import { backendStep } from './backend.js';
import { consoleStep } from './console.js';
import type { ScenarioDrivers } from './drivers.js';
import { hostStep } from './host.js';
import type { RunnerHooks, StepBase, StepContext, StepOutcome } from './kind.js';
import { sshStep } from './ssh.js';
import { waitStep } from './wait.js';

/**
 * A kind as the registry holds it: named after its key, and run with nothing more than every
 * scenario's drivers give (a kind's runner that asks for more does not fit here).
 */
interface RegisteredKind<Name extends string> {
  readonly name: Name;
  readonly schema: z.ZodType;
  readonly parse: (raw: never, at: StepContext) => StepBase & { kind: Name };
  readonly run: (step: never, drivers: ScenarioDrivers, hooks: RunnerHooks) => Promise<StepOutcome>;
  readonly changesSystem: boolean;
  readonly needs: readonly Capability[];
}

/** The registry as written, checked: each entry is a whole kind, under its own name. */
export function stepKindRegistry<const R extends { [K in keyof R]: RegisteredKind<K & string> }>(kinds: R): R {
  return kinds;
}

/** By the key that introduces each kind in a scenario file; messages and scenarios/schema.json list them in this order. */
export const STEP_KINDS = stepKindRegistry({
  wait: waitStep,
  console: consoleStep,
  ssh: sshStep,
  backend: backendStep,
  host: hostStep,
});

type Kinds = typeof STEP_KINDS;
export type StepKindName = keyof Kinds;
export type StepOf<K extends StepKindName> = ReturnType<Kinds[K]['parse']>;
/** A step of a scenario, as plain data: one of the registered kinds' data. */
export type Step = { [K in StepKindName]: StepOf<K> }[StepKindName];
/** A kind's map, as its schema outputs it. */
export type StepInput<K extends StepKindName> = z.output<Kinds[K]['schema']>;

export const STEP_KIND_NAMES = Object.keys(STEP_KINDS) as StepKindName[];

// A kind and its data are a matched pair (the registry's keys are the kinds' names, and each
// kind's parse makes data of its own kind), which TypeScript cannot follow through a union
// of kinds: these two calls say so once, here.

/** The step a kind's validated map makes. */
export function parseStep<K extends StepKindName>(kind: K, raw: StepInput<K>, at: StepContext): Step {
  const parse = STEP_KINDS[kind].parse as (raw: StepInput<K>, at: StepContext) => Step;
  return parse(raw, at);
}

/** Does the step with the scenario's drivers. */
export function runStep(step: Step, drivers: ScenarioDrivers, hooks: RunnerHooks): Promise<StepOutcome> {
  const run = STEP_KINDS[step.kind].run as (step: Step, drivers: ScenarioDrivers, hooks: RunnerHooks) => Promise<StepOutcome>;
  return run(step, drivers, hooks);
}

/** Whether the step leaves its system unfit for another scenario. */
export function stepChangesSystem(step: Step): boolean {
  return STEP_KINDS[step.kind].changesSystem;
}

/** What the step needs from the rig. */
export function stepNeeds(step: Step): readonly Capability[] {
  return STEP_KINDS[step.kind].needs;
}
