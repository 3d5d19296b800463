import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { describePlan } from '../../../src/cli/plan-text.js';
import { builtInScenarioDir, builtInScenarios, loadScenarioFile, parseScenario, resolvePlan, type RawOptions, type Scenario } from '../../../src/config/index.js';
import { assignShards, COST, parseShard, scenarioCost, selectShard } from '../../../src/config/shard.js';
import { ConfigError } from '../../../src/errors.js';

/** A small deterministic generator: the same sets on every machine. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

/** A scenario file as a user writes it, parsed by the harness's own parser. */
function scenarioFile(name: string, o: { domUs?: number; steps?: number; backends?: number; fresh?: boolean }): Scenario {
  const domUs = o.domUs ?? 1;
  const lines = [`name: ${name}`];
  if (o.fresh) lines.push('fresh-boot: true');
  lines.push('domains:');
  for (let d = 1; d <= domUs; d++) lines.push(`  domU${d}: {${(o.backends ?? 0) > 0 ? ' virtio-pci: foreign ' : ''}}`);
  lines.push('steps:', '  - wait: { console: dom0, for: shell }');
  for (let i = 0; i < (o.steps ?? 0); i++) lines.push(`  - ssh: { run: "true" }`);
  for (let i = 0; i < (o.backends ?? 0); i++) lines.push('  - backend: { domain: domU1, devices: [virtio-net] }');
  return parseScenario(`${name}.yaml`, lines.join('\n') + '\n');
}

function randomSet(seed: number, size: number): Scenario[] {
  const r = rng(seed);
  return Array.from({ length: size }, (_, i) =>
    scenarioFile(`s${seed}-${String(i).padStart(2, '0')}`, {
      domUs: 1 + Math.floor(r() * 3),
      steps: Math.floor(r() * 12),
      backends: r() < 0.3 ? 1 + Math.floor(r() * 2) : 0,
      fresh: r() < 0.15,
    }),
  );
}

/** Many scenarios costing exactly the same: only the names can break the ties. */
const twins = Array.from({ length: 9 }, (_, i) => scenarioFile(`twin-${i}`, { steps: 2 }));
const builtIns = builtInScenarios().map((n) => loadScenarioFile(join(builtInScenarioDir(), `${n}.yaml`)));
const SETS: Record<string, Scenario[]> = {
  'the built-in scenarios': builtIns,
  'one scenario': [scenarioFile('only', { steps: 3 })],
  'nine of equal cost': twins,
  'twelve random': randomSet(1, 12),
  'twenty-five random': randomSet(7, 25),
  'forty random': randomSet(42, 40),
};

function shuffled<T>(items: readonly T[], seed: number): T[] {
  const r = rng(seed);
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(r() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

const loads = (set: readonly Scenario[], n: number) => {
  const shardOf = assignShards(set, n);
  const load = new Array<number>(n).fill(0);
  for (const s of set) load[shardOf.get(s.name)! - 1]! += scenarioCost(s);
  return load;
};

/** The best split there is, by trying every one (small sets only). */
function optimum(costs: readonly number[], n: number): number {
  let best = Infinity;
  const load = new Array<number>(n).fill(0);
  const place = (i: number) => {
    const worst = Math.max(...load);
    if (worst >= best) return;
    if (i === costs.length) return void (best = worst);
    const tried = new Set<number>();
    for (let k = 0; k < n; k++) {
      if (tried.has(load[k]!)) continue; // shards with equal loads are interchangeable
      tried.add(load[k]!);
      load[k]! += costs[i]!;
      place(i + 1);
      load[k]! -= costs[i]!;
    }
  };
  place(0);
  return best;
}

describe.each(Object.entries(SETS))('sharding %s', (_, set) => {
  it.each([1, 2, 3, 4, 5, 6])('runs every scenario exactly once in %i shards', (n) => {
    const runs = new Map<string, number>();
    for (let i = 1; i <= n; i++) {
      for (const s of selectShard(set, { index: i, count: n }).scenarios) runs.set(s.name, (runs.get(s.name) ?? 0) + 1);
    }
    expect([...runs.keys()].sort()).toEqual(set.map((s) => s.name).sort());
    expect([...runs.values()].every((k) => k === 1)).toBe(true);
  });

  it('splits alike whatever the order the scenarios were given in', () => {
    for (const n of [2, 3, 4, 5, 6]) {
      const reference = [...assignShards(set, n)].sort();
      for (const seed of [3, 11, 29]) expect([...assignShards(shuffled(set, seed), n)].sort(), `${n} shards, order ${seed}`).toEqual(reference);
      expect([...assignShards([...set].reverse(), n)].sort()).toEqual(reference);
    }
  });

  it("keeps each shard's scenarios in the order given, and the plan's split whole", () => {
    const { scenarios, plan } = selectShard(set, { index: 1, count: 3 });
    const given = set.map((s) => s.name);
    expect(scenarios.map((s) => s.name)).toEqual(given.filter((n) => scenarios.some((s) => s.name === n)));
    expect(plan.selected).toBe(set.length);
    expect(plan.shards.flatMap((s) => s.scenarios).sort()).toEqual([...given].sort());
    expect(plan.shards.reduce((n, s) => n + s.cost, 0)).toBe(set.reduce((n, s) => n + scenarioCost(s), 0));
  });

  it('balances cost: the dearest shard within the average plus (1 - 1/n) of the dearest scenario', () => {
    const costs = set.map(scenarioCost);
    const total = costs.reduce((a, b) => a + b, 0);
    for (let n = 1; n <= 6; n++) {
      const worst = Math.max(...loads(set, n));
      // The greedy rule's own bound, and the floor no split can beat.
      expect(worst, `${n} shards`).toBeLessThanOrEqual(total / n + (1 - 1 / n) * Math.max(...costs) + 1e-9);
      expect(worst).toBeGreaterThanOrEqual(Math.max(total / n, Math.max(...costs)) - 1e-9);
    }
  });
});

describe('balance against the best split possible', () => {
  it('is within 4/3 - 1/(3n) of the optimum (Graham) on small sets, found by trying every split', () => {
    for (const seed of [2, 5, 8, 13, 21]) {
      const set = randomSet(seed, 9);
      const costs = set.map(scenarioCost);
      for (const n of [2, 3, 4]) {
        const best = optimum(costs, n);
        expect(Math.max(...loads(set, n)), `seed ${seed}, ${n} shards`).toBeLessThanOrEqual((4 / 3 - 1 / (3 * n)) * best + 1e-9);
      }
    }
  });

  it("splits the built-in seed flow's compatible set evenly in two", () => {
    const set = ['boot-smoke', 'virtio-pci-rescan-ping', 'virtio-blk', 'backend-restart'].map((n) => builtIns.find((s) => s.name === n)!);
    const [a, b] = loads(set, 2);
    expect(Math.abs(a! - b!)).toBeLessThanOrEqual(Math.min(...set.map(scenarioCost)));
  });
});

describe('the cost of a scenario', () => {
  it('is estimated from what it does: steps by kind, domUs, a system of its own, a fresh boot', () => {
    const plain = scenarioFile('plain', { steps: 2 });
    expect(scenarioCost(plain)).toBe(COST.scenario + 3 * COST.step + COST.domU);
    const backend = scenarioFile('backend', { backends: 1 });
    expect(scenarioCost(backend)).toBe(COST.scenario + COST.step + COST.stepKind.backend! + COST.domU + COST.ownSystem);
    const fresh = scenarioFile('fresh', { fresh: true, domUs: 3 });
    expect(scenarioCost(fresh)).toBe(COST.scenario + COST.step + 3 * COST.domU + COST.freshBoot);
  });

  it('is the declared one when a scenario declares it', () => {
    expect(scenarioCost({ ...scenarioFile('declared', { steps: 2 }), cost: 600 })).toBe(600);
    expect(scenarioCost({ ...scenarioFile('declared', { steps: 2 }), cost: 12.2 })).toBe(13);
    // Nonsense falls back to the estimate rather than breaking the split.
    expect(scenarioCost({ ...scenarioFile('declared', { steps: 2 }), cost: -1 })).toBe(scenarioCost(scenarioFile('declared', { steps: 2 })));
  });

  it('puts a declared long scenario alone when the others fit beside each other', () => {
    const set = [{ ...scenarioFile('long', {}), cost: 1000 }, ...twins];
    const shardOf = assignShards(set, 2);
    const long = shardOf.get('long');
    expect(twins.every((t) => shardOf.get(t.name) !== long)).toBe(true);
  });
});

describe('the shard input', () => {
  it('reads i/n', () => {
    expect(parseShard('2/4', '--shard')).toEqual({ index: 2, count: 4 });
    expect(parseShard(' 1 / 1 ', '--shard')).toEqual({ index: 1, count: 1 });
    expect(parseShard('', '--shard')).toBeUndefined();
    expect(parseShard(undefined, '--shard')).toBeUndefined();
  });

  it.each(['0/4', '5/4', '1/0', '0/0', 'x', '2', '2/', '/4', '2/4/1', '-1/4', '1.5/4', '1/257', '2 of 4'])('rejects %j naming the input', (bad) => {
    expect(() => parseShard(bad, 'input `shard`')).toThrow(ConfigError);
    expect(() => parseShard(bad, 'input `shard`')).toThrow(`input \`shard\`: expected i/n, this job's shard i of n (1 ≤ i ≤ n ≤ 256), e.g. 2/4 in a matrix of 4 jobs, got "${bad.trim()}"`);
  });
});

describe('a sharded plan', () => {
  const raw = (values: RawOptions['values']): RawOptions => ({ values, label: (n) => `--${n}` });
  const env = { HOME: '/home/dev' };
  const selection = 'boot-smoke virtio-pci-rescan-ping virtio-blk backend-restart';

  it('holds only its share, and every shard of the plan together holds the selection', () => {
    const all = resolvePlan(raw({ scenarios: selection }), { cwd: '/work', env });
    expect(all.shard).toBeUndefined();
    const names: string[] = [];
    for (const i of [1, 2]) {
      const plan = resolvePlan(raw({ scenarios: selection, shard: `${i}/2` }), { cwd: '/work', env });
      expect(plan.shard).toMatchObject({ index: i, count: 2, selected: 4 });
      names.push(...plan.scenarios.map((s) => s.name));
      // The shard's own boot: the domains of its scenarios only.
      const mine = resolvePlan(raw({ scenarios: plan.scenarios.map((s) => s.name).join(' ') }), { cwd: '/work', env });
      expect(plan.domains).toEqual(mine.domains);
    }
    expect(names.sort()).toEqual(selection.split(' ').sort());
  });

  it('shows the split in plan', () => {
    const plan = resolvePlan(raw({ scenarios: selection, shard: '2/2' }), { cwd: '/work', env });
    const text = describePlan(plan);
    expect(text).toContain(`# Scenarios (shard 2/2: ${plan.scenarios.length} of 4)`);
    expect(text).toMatch(/^shard: 2\/2, estimated cost \d+ of \d+ /m);
    expect(text).toMatch(/^ {2}\* 2\/2 \(cost \d+\): /m);
    expect(text).toMatch(/^ {4}1\/2 \(cost \d+\): /m);
  });

  it('rejects a bad shard naming the flag, and a selection whose domains disagree on every shard alike', () => {
    expect(() => resolvePlan(raw({ scenarios: selection, shard: '3/2' }), { cwd: '/work', env })).toThrow(/^--shard: expected i\/n/);
    const dir = mkdtempSync(join(tmpdir(), 'xpv-shard-'));
    writeFileSync(join(dir, 'a.yaml'), 'name: a\ndomains:\n  domU1: { memory: 1G }\nsteps:\n  - wait: { console: dom0, for: shell }\n');
    writeFileSync(join(dir, 'b.yaml'), 'name: b\ndomains:\n  domU1: { memory: 2G }\nsteps:\n  - wait: { console: dom0, for: shell }\n');
    for (const shard of ['1/2', '2/2']) {
      expect(() => resolvePlan(raw({ scenarios: 'a.yaml b.yaml', shard }), { cwd: dir, env })).toThrow(/disagree on domU1's memoryMiB/);
    }
  });

  it('may be empty when there are more shards than scenarios', () => {
    const plans = [1, 2, 3].map((i) => resolvePlan(raw({ scenarios: 'boot-smoke virtio-blk', shard: `${i}/3` }), { cwd: '/work', env }));
    expect(plans.map((p) => p.scenarios.length).sort()).toEqual([0, 1, 1]);
    const empty = plans.find((p) => p.scenarios.length === 0)!;
    expect(empty.domains).toEqual([]);
    expect(describePlan(empty)).toContain('(none)');
  });
});
