// Sharding: a matrix of n jobs, each given `shard: i/n`, runs every selected scenario exactly
// once between them. Each job computes the whole split itself from what it was given, so the
// split must not depend on anything that differs between runners: not the order the
// scenarios were listed in, not the time they took last time, not the machine. It depends on
// each scenario's name and an estimate of its cost read off the scenario itself.
import { ConfigError } from '../errors.js';
import { stepChangesSystem } from '../steps/registry.js';
import type { Scenario, ShardPlan, ShardSpec } from './types.js';

export type { ShardPlan, ShardSpec };

/** A GitHub Actions matrix has at most 256 jobs; a larger count is surely a typo. */
export const MAX_SHARDS = 256;

/**
 * The estimate, in rough seconds under TCG on a two-core runner. Only the ratios matter to
 * the split; the values are round on purpose, so that a measurement taken on one runner
 * never sneaks in and makes two runners disagree.
 */
export const COST = {
  /** Every scenario: its start, its report, the console handover between scenarios. */
  scenario: 10,
  /** Every step: a command and its check. */
  step: 5,
  /** Steps that cost more than a command: a backend starts a QEMU in dom0 and waits for its IOREQ server. */
  stepKind: { backend: 30 } as Readonly<Record<string, number>>,
  /** Each domU the scenario names: one more domain to boot and reach a shell on. */
  domU: 15,
  /** A scenario that changes its system gets a system of its own: a restore of the saved boot. */
  ownSystem: 30,
  /** `fresh-boot: true`: a real boot, Xen to every shell, which a restore would have saved. */
  freshBoot: 120,
} as const;

/**
 * A scenario's cost: the one it declares (a `cost` in seconds, for a scenario the estimate
 * gets wrong), else the estimate from what it does (COST). Always a positive whole number,
 * so sums compare exactly on every runner.
 */
export function scenarioCost(scenario: Scenario & { cost?: number }): number {
  if (typeof scenario.cost === 'number' && Number.isFinite(scenario.cost) && scenario.cost > 0) return Math.ceil(scenario.cost);
  const steps = scenario.steps.reduce((sum, step) => sum + (COST.stepKind[step.kind] ?? COST.step), 0);
  const system = scenario.freshBoot ? COST.freshBoot : scenario.steps.some(stepChangesSystem) ? COST.ownSystem : 0;
  return COST.scenario + steps + COST.domU * scenario.domains.length + system;
}

/**
 * `i/n` with 1 ≤ i ≤ n ≤ MAX_SHARDS, or undefined for an empty value (no sharding). `label`
 * names the input as the front end spells it.
 */
export function parseShard(value: string | undefined, label: string): ShardSpec | undefined {
  const v = value?.trim() ?? '';
  if (v === '') return undefined;
  const m = /^(\d{1,4})\s*\/\s*(\d{1,4})$/.exec(v);
  const index = m ? Number(m[1]) : NaN;
  const count = m ? Number(m[2]) : NaN;
  if (!m || count < 1 || count > MAX_SHARDS || index < 1 || index > count) {
    throw new ConfigError(
      `${label}: expected i/n, this job's shard i of n (1 ≤ i ≤ n ≤ ${MAX_SHARDS}), e.g. 2/4 in a matrix of 4 jobs, got "${v}"`,
    );
  }
  return { index, count };
}

export function formatShard(shard: ShardSpec): string {
  return `${shard.index}/${shard.count}`;
}

/** What a shard's reports say about it (JUnit properties, the summary's heading, result.json). */
export function shardProperties(shard: ShardSpec & { selected?: number }): Record<string, string> {
  return { shard: formatShard(shard), ...(shard.selected !== undefined ? { 'shard.selected': String(shard.selected) } : {}) };
}

/** Reads `i/n` back from a report (a property or a heading); undefined when it is not one. */
export function readShard(text: string | undefined): ShardSpec | undefined {
  const m = /^(\d{1,4})\/(\d{1,4})$/.exec(text ?? '');
  if (!m) return undefined;
  const shard = { index: Number(m[1]), count: Number(m[2]) };
  return shard.index >= 1 && shard.index <= shard.count && shard.count <= MAX_SHARDS ? shard : undefined;
}

/**
 * Which shard (from 1) runs each scenario, by name. Longest processing time first: the
 * scenarios by cost, dearest first and then by name (names are unique in a selection), each
 * to the shard with the least cost so far, the lowest-numbered one on a tie. The order the
 * scenarios were given in never matters, and the dearest shard costs at most
 * (4/3 − 1/(3n)) times the best split possible (Graham's bound for this rule), and at most
 * the average plus (1 − 1/n) times the dearest scenario.
 */
export function assignShards(scenarios: readonly (Scenario & { cost?: number })[], count: number): Map<string, number> {
  const costed = scenarios.map((s) => ({ name: s.name, cost: scenarioCost(s) }));
  costed.sort((a, b) => b.cost - a.cost || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const load = new Array<number>(count).fill(0);
  const shardOf = new Map<string, number>();
  for (const { name, cost } of costed) {
    let least = 0;
    for (let i = 1; i < count; i++) if (load[i]! < load[least]!) least = i;
    load[least]! += cost;
    shardOf.set(name, least + 1);
  }
  return shardOf;
}

/** This runner's scenarios, in the order they were given, and the split for the plan. */
export function selectShard<S extends Scenario>(scenarios: readonly S[], shard: ShardSpec): { scenarios: S[]; plan: ShardPlan } {
  const shardOf = assignShards(scenarios, shard.count);
  const shards = Array.from({ length: shard.count }, () => ({ scenarios: [] as string[], cost: 0 }));
  for (const s of scenarios) {
    const mine = shards[shardOf.get(s.name)! - 1]!;
    mine.scenarios.push(s.name);
    mine.cost += scenarioCost(s);
  }
  return {
    scenarios: scenarios.filter((s) => shardOf.get(s.name) === shard.index),
    plan: { ...shard, selected: scenarios.length, shards },
  };
}
