// Reads one scenario YAML file into a Scenario. Every error names file:line:column,
// which is why the YAML is kept as a document (with source ranges) until validated.
import type { z } from 'zod';
import { ConfigError } from '../errors.js';
import { scenarioSchema, STEP_KINDS, type ScenarioFile } from './scenario-schema.js';
import { parseYaml, readScenarioSource, type Located, type PathKey } from './scenario-source.js';
import { compileUserPattern } from './user-pattern.js';
import type { Capability } from '../rig/manifest.js';
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
  return parseScenario(shownAs, readScenarioSource(file, shownAs));
}

export function parseScenario(file: string, source: string): Scenario {
  const located = parseYaml(file, source);
  const result = scenarioSchema.safeParse(located.doc.toJS());
  if (!result.success) throw toConfigError(located, result.error.issues[0]!);
  return toScenario(located, result.data);
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
 * What a scenario's own domains and steps need from the rig, whether or not its file says
 * so: without these a virtio-pci domU panics at boot or a backend cannot serve it, and a
 * skip with the reason beats a confusing failure.
 */
function withImpliedRequirements(declared: readonly Capability[], domains: readonly DomainRequest[], steps: readonly Step[]): Capability[] {
  const needs = new Set<Capability>(declared);
  if (domains.some((d) => d.virtioPci) || steps.some((s) => s.kind === 'backend')) {
    for (const c of ['ioreq', 'qemu-xenpvh-pci'] as const) needs.add(c);
  }
  // A domain that names who writes its host bridge needs that mechanism; one that does not
  // needs either (scenario/outcomes.ts checks that, as it depends on the rig).
  if (domains.some((d) => d.virtioPci && d.virtioPciNode === 'xen')) needs.add('dom0less-virtio-pci');
  if (domains.some((d) => d.virtioPci && d.virtioPciNode === 'passthrough')) needs.add('trap-unmapped-accesses');
  if (domains.some((d) => d.virtioPci === 'grants')) needs.add('virtio-grants');
  if (steps.some((s) => s.kind === 'ssh' || s.kind === 'backend')) needs.add('ssh');
  return [...needs];
}

function toScenario(located: Located, data: ScenarioFile): Scenario {
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

  const steps = data.steps.map((raw, index): Step => {
    const kind = STEP_KINDS.find((k) => raw[k] !== undefined)!;
    const where = located.pos(['steps', index, kind]);
    const checkDomain = (name: string, key: string) => {
      if (!known.has(name)) {
        throw new ConfigError(
          `${key}: ${name} is not declared under domains (declared: ${[...known].join(', ')})`,
          located.pos(['steps', index, kind, key]),
        );
      }
    };
    switch (kind) {
      case 'wait': {
        const s = raw.wait!;
        checkDomain(s.console, 'console');
        const forShell = s.for === 'shell';
        let waitFor: { shell: true } | { pattern: RegExp };
        if (forShell) waitFor = { shell: true };
        else {
          try {
            waitFor = { pattern: compileUserPattern(s.for) };
          } catch (e) {
            const why = e instanceof SyntaxError ? `expected "shell" or a regular expression: ${e.message}` : (e as Error).message;
            throw new ConfigError(`for: ${why}`, located.pos(['steps', index, kind, 'for']));
          }
        }
        return {
          kind,
          console: s.console,
          for: waitFor,
          timeoutMs: s.timeout ?? defaultTimeout,
          where,
          title: s.title ?? `wait for ${forShell ? 'shell' : `/${s.for}/`} on ${s.console}`,
        };
      }
      case 'console': {
        const s = raw.console!;
        checkDomain(s.domain, 'domain');
        return {
          kind,
          domain: s.domain,
          run: s.run,
          ...(s.expect ? { expect: s.expect } : {}),
          ...(s['expect-not'] ? { expectNot: s['expect-not'] } : {}),
          timeoutMs: s.timeout ?? defaultTimeout,
          where,
          title: s.title ?? `${s.domain}: ${s.run}`,
        };
      }
      case 'ssh': {
        const s = raw.ssh!;
        return {
          kind,
          run: s.run,
          ...(s.expect ? { expect: s.expect } : {}),
          ...(s['expect-not'] ? { expectNot: s['expect-not'] } : {}),
          background: s.background ?? false,
          timeoutMs: s.timeout ?? defaultTimeout,
          where,
          title: s.title ?? `ssh dom0: ${s.run}`,
        };
      }
      case 'backend': {
        const s = raw.backend!;
        checkDomain(s.domain, 'domain');
        const devices = s.devices ?? [];
        return {
          kind,
          domain: s.domain,
          action: s.stop ? 'stop' : 'start',
          devices,
          ready: s.ready ?? 'ioreq',
          timeoutMs: s.timeout ?? defaultTimeout,
          where,
          title: s.title ?? (s.stop ? `stop the backend for ${s.domain}` : `backend for ${s.domain}: ${devices.join(', ')}`),
        };
      }
    }
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
