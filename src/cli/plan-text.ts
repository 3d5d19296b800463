// `xen-pvh-virtio plan`: the resolved run, printed before anything runs.
import type { RunPlan, Step } from '../config/types.js';
import { formatDuration } from '../config/units.js';
import { formatPos } from '../errors.js';
import { newSystemAt } from '../scenario/systems-plan.js';
import { formatShard, type ShardPlan } from '../config/shard.js';

function describeStep(step: Step): string {
  const base = `${step.kind.padEnd(7)} ${step.title}`;
  const extra: string[] = [];
  if ((step.kind === 'console' || step.kind === 'ssh') && step.expect) extra.push(`expect ${step.expect}`);
  if ((step.kind === 'console' || step.kind === 'ssh') && step.expectNot) extra.push(`expect-not ${step.expectNot}`);
  if (step.kind === 'ssh' && step.background) extra.push('background');
  extra.push(`timeout ${formatDuration(step.timeoutMs)}`);
  return `${base}  [${extra.join(', ')}]  (${formatPos(step.where)})`;
}

export interface PlanSection {
  title: string;
  body: string;
}

export function describePlan(plan: RunPlan, sections: readonly PlanSection[] = []): string {
  const out: string[] = [];
  out.push(plan.shard ? `# Scenarios (shard ${formatShard(plan.shard)}: ${plan.scenarios.length} of ${plan.shard.selected})` : '# Scenarios');
  for (const s of plan.scenarios) {
    out.push(`${s.name}  (${s.file})`);
    if (s.requires.length) out.push(`  requires: ${s.requires.join(', ')}`);
    for (const step of s.steps) out.push(`  - ${describeStep(step)}`);
  }
  out.push('', '# Domains (every system of the run has them all)');
  out.push('dom0');
  for (const d of plan.domains) {
    const parts = [`domid ${d.domid}`, `memory ${d.memoryMiB}M`, `cpus ${d.cpus}`, d.vpl011 ? 'vpl011' : 'no vpl011'];
    if (d.virtioPci) {
      const node = d.virtioPciNode === 'xen' ? 'Xen writes it' : d.virtioPciNode === 'passthrough' ? 'our partial DT' : "by the rig's Xen (see Boot media)";
      parts.push(`virtio-pci ${d.virtioPci} (host bridge: ${node})`);
    }
    if (d.bootargs) parts.push(`bootargs "${d.bootargs}"`);
    out.push(`${d.name}: ${parts.join(', ')}`);
  }
  out.push('', '# Run');
  out.push(`rig: ${plan.rig.provider}`);
  out.push(`boot: ${plan.boot}`);
  out.push(`ssh: 127.0.0.1:${plan.sshPort === 0 ? '<free port>' : plan.sshPort} → dom0:22`);
  out.push(`cache: ${plan.cache.enabled ? plan.cache.dir : 'off'}`);
  out.push(`systems: ${systemsLine(plan)}`);
  if (plan.shard) out.push(...shardLines(plan.shard));
  out.push(`timeout: ${plan.timeoutMinutes} min`);
  if (plan.keepAliveOnFailureMs > 0) out.push(`keep alive on failure: ${formatDuration(plan.keepAliveOnFailureMs)}`);
  out.push(`junit: ${plan.junitPath}`);
  out.push(`logs: ${plan.logsDir}`);
  for (const section of sections) out.push('', `# ${section.title}`, section.body.trimEnd());
  return out.join('\n') + '\n';
}

/** A recipe as indented text: lists and short values inline, long texts by size only. */
export function describeRecipe(recipe: unknown, indent = ''): string {
  if (recipe === null || typeof recipe !== 'object') return `${indent}${String(recipe)}`;
  const lines: string[] = [];
  for (const [key, value] of Object.entries(recipe as Record<string, unknown>)) {
    if (Array.isArray(value) && value.every((v) => typeof v !== 'object')) lines.push(`${indent}${key}: ${value.join(', ')}`);
    else if (typeof value === 'string' && value.includes('\n')) lines.push(`${indent}${key}: (${value.split('\n').length} lines)`);
    else if (value !== null && typeof value === 'object') lines.push(`${indent}${key}:`, describeRecipe(value, `${indent}  `));
    else lines.push(`${indent}${key}: ${String(value)}`);
  }
  return lines.join('\n');
}

/** The whole split, so each job of a matrix can show what the others run. */
function shardLines(shard: ShardPlan): string[] {
  const total = shard.shards.reduce((n, s) => n + s.cost, 0);
  return [
    `shard: ${formatShard(shard)}, estimated cost ${shard.shards[shard.index - 1]!.cost} of ${total} (split by estimated cost; every job computes the same split)`,
    ...shard.shards.map((s, i) => `  ${i + 1 === shard.index ? '*' : ' '} ${i + 1}/${shard.count} (cost ${s.cost}): ${s.scenarios.join(', ') || '(none)'}`),
  ];
}

/** Which scenarios get a new system and how, as `run` will decide it. */
function systemsLine(plan: RunPlan): string {
  const starts = newSystemAt(plan.scenarios);
  const groups: string[][] = [];
  plan.scenarios.forEach((s, i) => (starts[i] ? groups.push([s.name]) : groups[groups.length - 1]!.push(s.name)));
  const how = (i: number, first: string) => {
    const fresh = plan.scenarios.find((s) => s.name === first)?.freshBoot;
    if (i === 0) return plan.snapshot && plan.cache.enabled ? 'booted (or restored from a cached booted system)' : 'booted';
    return fresh || !plan.snapshot ? 'booted' : 'restored from the first';
  };
  const parts = groups.map((g, i) => `${i + 1}: ${g.join(', ')} (${how(i, g[0]!)})`);
  const atOnce = Math.min(plan.jobs, groups.length);
  return `${groups.length} — ${parts.join('; ')}${plan.snapshot ? '' : ' [snapshot off]'}${atOnce > 1 ? `; ${atOnce} at once (jobs ${plan.jobs})` : ''}`;
}
