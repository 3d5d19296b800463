// The step-kind registry: every kind is whole, everything that used to name kinds one by one
// (schema, requirements, which scenarios share a system) follows it, and the layering holds.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { parseScenario, scenarioJsonSchema } from '../../../src/config/index.js';
import { packageRoot } from '../../../src/package-root.js';
import { CAPABILITIES } from '../../../src/rig/manifest.js';
import { changesDomains, newSystemAt } from '../../../src/scenario/systems-plan.js';
import { closed } from '../../../src/steps/fields.js';
import { defineStepKind, type StepBase } from '../../../src/steps/kind.js';
import { STEP_KIND_NAMES, STEP_KINDS, stepKindRegistry } from '../../../src/steps/registry.js';

const root = packageRoot();

describe('the step-kind registry', () => {
  it('holds every kind whole, under its own name, in the order messages list them', () => {
    expect(STEP_KIND_NAMES).toEqual(['wait', 'console', 'ssh', 'backend', 'host']);
    for (const name of STEP_KIND_NAMES) {
      const kind = STEP_KINDS[name];
      expect(kind.name, name).toBe(name);
      expect(kind.schema, name).toBeInstanceOf(z.ZodType);
      expect(typeof kind.parse, name).toBe('function');
      expect(typeof kind.run, name).toBe('function');
      expect(typeof kind.changesSystem, name).toBe('boolean');
      for (const need of kind.needs) expect(CAPABILITIES, `${name} needs ${need}`).toContain(need);
    }
  });

  it('produces the committed scenarios/schema.json, byte for byte', () => {
    const committed = readFileSync(join(root, 'scenarios', 'schema.json'), 'utf8');
    expect(JSON.stringify(scenarioJsonSchema(), null, 2) + '\n').toBe(committed);
  });

  it('does not compile a kind that leaves a part out, or one the registry cannot run', () => {
    interface PingStep extends StepBase {
      kind: 'ping';
    }
    const schema = closed({ to: z.string() });
    const parse = (_raw: { to: string }, at: { where: StepBase['where'] }): PingStep => ({ kind: 'ping', timeoutMs: 1, where: at.where, title: 'ping' });
    const run = async () => ({ excerpt: '' });
    // @ts-expect-error: changesSystem is missing
    defineStepKind({ name: 'ping', schema, parse, run, needs: [] });
    // @ts-expect-error: needs is missing
    defineStepKind({ name: 'ping', schema, parse, run, changesSystem: false });
    const ping = defineStepKind({ name: 'ping', schema, parse, run, changesSystem: false, needs: [] });
    expect(stepKindRegistry({ ping })).toEqual({ ping });
    // @ts-expect-error: registered under another name than its own
    stepKindRegistry({ pong: ping });
    // A runner that wants a driver every scenario does not have.
    const greedy = defineStepKind({ name: 'ping', schema, parse, run: async (_s, _d: { radio: () => void }) => ({ excerpt: '' }), changesSystem: false, needs: [] });
    // @ts-expect-error: ScenarioDrivers has no radio
    stepKindRegistry({ ping: greedy });
  });
});

describe('what follows from the kinds', () => {
  const head = 'name: x\ndomains:\n  domU1: { virtio-pci: foreign }\nsteps:\n  - wait: { console: domU1, for: shell }\n';

  it('marks a scenario with a backend step, and only such a scenario, as changing its system', () => {
    const readOnly = parseScenario('r.yaml', `${head}  - ssh: { run: lspci }\n  - host: { run: [test, -d, .] }\n  - console: { domain: domU1, run: lspci }\n`);
    const backend = parseScenario('b.yaml', `${head}  - backend: { domain: domU1, devices: [virtio-net] }\n`);
    const stop = parseScenario('s.yaml', `${head}  - backend: { domain: domU1, stop: true }\n`);
    expect(changesDomains(readOnly)).toBe(false);
    expect(changesDomains(backend)).toBe(true);
    expect(changesDomains(stop)).toBe(true);
    expect(newSystemAt([readOnly, readOnly, backend, readOnly])).toEqual([true, false, true, true]);
  });

  it('agrees with the built-in scenarios: exactly those with a backend step change their system', () => {
    const dir = join(root, 'scenarios');
    for (const f of readdirSync(dir).filter((x) => x.endsWith('.yaml'))) {
      const s = parseScenario(f, readFileSync(join(dir, f), 'utf8'));
      expect(changesDomains(s), f).toBe(s.steps.some((step) => step.kind === 'backend'));
    }
  });

  it("adds each kind's needs to the requirements, in the order they have always been listed", () => {
    const requires = (steps: string) => parseScenario('n.yaml', `name: n\ndomains:\n  domU1: {}\nsteps:\n${steps}`).requires;
    expect(requires('  - host: { run: [test, -d, .] }\n  - console: { domain: domU1, run: ls }\n')).toEqual([]);
    expect(requires('  - ssh: { run: ls }\n')).toEqual(['ssh']);
    expect(requires('  - ssh: { run: ls }\n  - backend: { domain: domU1, devices: [virtio-net] }\n')).toEqual(['ioreq', 'qemu-xenpvh-pci', 'ssh']);
  });
});

describe('layering', () => {
  const src = join(root, 'src');
  /** Each module of a folder of src/ with the src/ modules it imports (type imports included). */
  function imports(folder: string): Map<string, string[]> {
    const out = new Map<string, string[]>();
    for (const f of readdirSync(join(src, folder)).filter((x) => x.endsWith('.ts'))) {
      const file = join(src, folder, f);
      const text = readFileSync(file, 'utf8');
      const targets = [...text.matchAll(/(?:from|import)\s+'(\.{1,2}\/[^']+)\.js'/g)].map((m) => relative(src, resolve(dirname(file), `${m[1]}.ts`)));
      out.set(relative(src, file), targets);
    }
    return out;
  }

  it('steps/ uses nothing of scenario/, and of config/ only its unit and pattern parsers', () => {
    for (const [file, targets] of imports('steps')) {
      for (const t of targets) {
        expect(t.startsWith('scenario/'), `${file} imports ${t}`).toBe(false);
        if (t.startsWith('config/')) expect(['config/units.ts', 'config/user-pattern.ts'], `${file} imports ${t}`).toContain(t);
      }
    }
    // Those two are leaves: config/ importing steps/ makes no cycle through them.
    for (const [file, targets] of imports('config')) {
      if (file === 'config/units.ts' || file === 'config/user-pattern.ts') expect(targets, file).toEqual([]);
    }
  });

  it('has no import cycle among steps/, config/ and scenario/', () => {
    const graph = new Map([...imports('steps'), ...imports('config'), ...imports('scenario')]);
    const state = new Map<string, 'open' | 'done'>();
    const visit = (file: string, path: string[]): void => {
      if (state.get(file) === 'done') return;
      if (state.get(file) === 'open') throw new Error(`import cycle: ${[...path.slice(path.indexOf(file)), file].join(' → ')}`);
      state.set(file, 'open');
      for (const t of graph.get(file) ?? []) if (graph.has(t)) visit(t, [...path, file]);
      state.set(file, 'done');
    };
    for (const file of graph.keys()) visit(file, []);
  });
});
