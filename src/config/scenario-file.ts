// Reads one scenario YAML file into a Scenario. Every error names file:line:column,
// which is why the YAML is kept as a document (with source ranges) until validated.
import { dirname, resolve } from 'node:path';
import type { z } from 'zod';
import { ConfigError } from '../errors.js';
import { CAPABILITIES, type Capability } from '../rig/manifest.js';
import type { StepContext } from '../steps/kind.js';
import { parseStep, STEP_KIND_NAMES, stepNeeds } from '../steps/registry.js';
import { builtInScenarioDir } from './scenario-list.js';
import { scenarioSchema, type ScenarioFile } from './scenario-schema.js';
import { parseYaml, readScenarioSource, type Located, type PathKey } from './scenario-source.js';
import type { DomainRequest, Scenario, Step } from './types.js';

const DEFAULT_STEP_TIMEOUT_MS = 60_000;

function describeKey(path: readonly PathKey[]): string {
  const last = path[path.length - 1];
  if (last === undefined) return 'scenario';
  if (typeof last === 'number') {
    const parent = path[path.length - 2];
    return `${String(parent ?? 'item')}[${last}]`;
  }
  return last;
}

/** For a union, the branch that got furthest explains the mistake best. */
function deepestIssue(issue: z.core.$ZodIssue, prefix: readonly PropertyKey[] = []): { issue: z.core.$ZodIssue; path: PropertyKey[] } {
  const path = [...prefix, ...issue.path];
  if (issue.code !== 'invalid_union' || issue.errors.length === 0) return { issue, path };
  const candidates = issue.errors.flatMap((branch) => branch.map((inner) => deepestIssue(inner, path)));
  const best = candidates.reduce((a, b) => (b.path.length > a.path.length ? b : a));
  return best.path.length > path.length ? best : { issue, path };
}

function toConfigError(located: Located, top: z.core.$ZodIssue): ConfigError {
  const { issue, path: rawPath } = deepestIssue(top);
  const path = rawPath.filter((k): k is PathKey => typeof k === 'string' || typeof k === 'number');
  if (issue.code === 'unrecognized_keys') {
    const key = issue.keys[0]!;
    return new ConfigError(`${key}: ${issue.message}`, located.pos(path, key));
  }
  if (!located.doc.hasIn(path)) {
    return new ConfigError(`${describeKey(path)}: missing; ${issue.message.replace(/, got undefined$/, '')}`, located.pos(path));
  }
  return new ConfigError(`${describeKey(path)}: ${issue.message}`, located.pos(path));
}

/** `shownAs` is how messages name the file (relative to the workspace when inside it). */
export function loadScenarioFile(file: string, shownAs = file): Scenario {
  const dir = dirname(resolve(file));
  // A built-in scenario's folder is inside the harness's install, which means nothing to a
  // user: its commands on the runner start where the harness runs (the workspace).
  const own = dir === resolve(builtInScenarioDir()) ? undefined : dir;
  return parseScenario(shownAs, readScenarioSource(file, shownAs), own);
}

/** `dir` is the scenario file's folder, where its commands on the runner start (the harness's own when absent). */
export function parseScenario(file: string, source: string, dir?: string): Scenario {
  const located = parseYaml(file, source);
  const result = scenarioSchema.safeParse(located.doc.toJS());
  if (!result.success) throw toConfigError(located, result.error.issues[0]!);
  return toScenario(located, result.data, dir);
}

function virtioPciOf(v: ScenarioFile['domains'][string]['virtio-pci']): Pick<DomainRequest, 'virtioPci' | 'virtioPciWindows'> {
  if (v === undefined) return {};
  if (typeof v === 'string') return { virtioPci: v };
  const windows = {
    ...(v.ecam ? { ecam: v.ecam } : {}),
    ...(v.mmio ? { mmio: v.mmio } : {}),
    ...(v.prefetch ? { prefetch: v.prefetch } : {}),
    ...(v['intx-irq-base'] !== undefined ? { intxIrqBase: v['intx-irq-base'] } : {}),
  };
  return { virtioPci: v.mode, ...(Object.keys(windows).length ? { virtioPciWindows: windows } : {}), ...(v.node ? { virtioPciNode: v.node } : {}) };
}

/**
 * The order implied requirements have always been listed in (plan output, skip reasons);
 * capabilities not named here follow in the manifest's order.
 */
const IMPLIED_ORDER: readonly Capability[] = ['ioreq', 'qemu-xenpvh-pci', 'dom0less-virtio-pci', 'trap-unmapped-accesses', 'virtio-grants', 'ssh'];
const impliedRank = (c: Capability) => (IMPLIED_ORDER.includes(c) ? IMPLIED_ORDER.indexOf(c) : IMPLIED_ORDER.length + CAPABILITIES.indexOf(c));

/**
 * What a scenario's own domains and steps need from the rig, whether or not its file says
 * so: without these a virtio-pci domU panics at boot or a backend cannot serve it, and a
 * skip with the reason beats a confusing failure. Each step kind says what it needs.
 */
function withImpliedRequirements(declared: readonly Capability[], domains: readonly DomainRequest[], steps: readonly Step[]): Capability[] {
  const implied = new Set<Capability>(steps.flatMap((s) => stepNeeds(s)));
  if (domains.some((d) => d.virtioPci)) {
    for (const c of ['ioreq', 'qemu-xenpvh-pci'] as const) implied.add(c);
  }
  // A domain that names who writes its host bridge needs that mechanism; one that does not
  // needs either (scenario/outcomes.ts checks that, as it depends on the rig).
  if (domains.some((d) => d.virtioPci && d.virtioPciNode === 'xen')) implied.add('dom0less-virtio-pci');
  if (domains.some((d) => d.virtioPci && d.virtioPciNode === 'passthrough')) implied.add('trap-unmapped-accesses');
  if (domains.some((d) => d.virtioPci === 'grants')) implied.add('virtio-grants');
  return [...new Set([...declared, ...[...implied].sort((a, b) => impliedRank(a) - impliedRank(b))])];
}

function toScenario(located: Located, data: ScenarioFile, dir: string | undefined): Scenario {
  const domains: DomainRequest[] = Object.entries(data.domains).map(([name, d]) => ({
    name,
    domid: Number(name.slice('domU'.length)),
    ...(d.memory !== undefined ? { memoryMiB: d.memory } : {}),
    ...(d.cpus !== undefined ? { cpus: d.cpus } : {}),
    ...(d.vpl011 !== undefined ? { vpl011: d.vpl011 } : {}),
    ...virtioPciOf(d['virtio-pci']),
    ...(d.bootargs ? { bootargs: d.bootargs } : {}),
  }));
  const known = new Set(['xen', 'dom0', ...domains.map((d) => d.name)]);
  const defaultTimeout = data.timeout ?? DEFAULT_STEP_TIMEOUT_MS;

  const steps = data.steps.map((entry, index): Step => {
    const kind = STEP_KIND_NAMES.find((k) => entry[k] !== undefined)!;
    const pos = (key: string) => located.pos(['steps', index, kind, key]);
    const at: StepContext = {
      where: located.pos(['steps', index, kind]),
      pos,
      timeoutMs: (own) => own ?? defaultTimeout,
      requireDeclared: (name, key) => {
        if (!known.has(name)) throw new ConfigError(`${key}: ${name} is not declared under domains (declared: ${[...known].join(', ')})`, pos(key));
      },
      ...(dir !== undefined ? { dir } : {}),
    };
    return parseStep(kind, entry[kind]!, at);
  });

  return {
    name: data.name,
    ...(data.description ? { description: data.description } : {}),
    file: located.file,
    requires: withImpliedRequirements(data.requires, domains, steps),
    domains,
    steps,
    ...(data['fresh-boot'] ? { freshBoot: true } : {}),
    ...(data['expected-warnings'] ? { expectedWarnings: data['expected-warnings'] } : {}),
  };
}
