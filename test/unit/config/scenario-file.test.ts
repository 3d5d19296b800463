import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadScenarioFile, parseScenario } from '../../../src/config/index.js';
import { missingCapabilities } from '../../../src/scenario/outcomes.js';
import { scenarioErrorOf as errorOf } from '../../support/config-error.js';


const ok = `name: demo
domains:
  domU1: { memory: 1G, cpus: 1, vpl011: true }
steps:
  - wait: { console: dom0, for: shell, timeout: 300s }
  - console: { domain: domU1, run: uname -m, expect: "^aarch64$" }
`;

describe('scenario files', () => {
  it('parses units once: durations to ms, sizes to MiB, patterns to multi-line regexps', () => {
    const s = parseScenario('demo.yaml', ok);
    expect(s.domains).toEqual([{ name: 'domU1', domid: 1, memoryMiB: 1024, cpus: 1, vpl011: true }]);
    expect(s.steps[0]).toMatchObject({ kind: 'wait', console: 'dom0', for: { shell: true }, timeoutMs: 300_000 });
    expect(s.steps[0]!.where).toEqual({ file: 'demo.yaml', line: 5, column: 11 });
    const step = s.steps[1]!;
    expect(step.kind === 'console' && step.expect!.test('Linux\naarch64\n')).toBe(true);
    expect(step.timeoutMs).toBe(60_000);
  });

  it('names file:line:column and what was expected for a bad duration', () => {
    expect(errorOf('name: x\nsteps:\n  - wait: { console: dom0, for: shell, timeout: banana }\n')).toBe(
      'bad.yaml:3:49: timeout: expected a duration like 300s or 5m, got "banana"',
    );
  });

  it('rejects a number where a duration needs a unit', () => {
    expect(errorOf('name: x\ntimeout: 300\nsteps:\n  - wait: { console: dom0, for: shell }\n')).toBe(
      'bad.yaml:2:10: timeout: expected a duration like 300s or 5m, got 300',
    );
  });

  it('names the position of a bad size', () => {
    expect(errorOf('name: x\ndomains:\n  domU1:\n    memory: lots\nsteps:\n  - wait: { console: dom0, for: shell }\n')).toBe(
      'bad.yaml:4:13: memory: expected a size like 1024M or 1G, got "lots"',
    );
  });

  it('names the position of a bad address and keeps addresses above 2^53 exact', () => {
    const head = 'name: x\ndomains:\n  domU1:\n    virtio-pci:\n      mode: foreign\n';
    const steps = 'steps:\n  - wait: { console: dom0, for: shell }\n';
    expect(errorOf(`${head}      ecam: { base: 4096, size: 0x10000000 }\n${steps}`)).toBe(
      'bad.yaml:6:21: base: expected an address like 0xf100000000, got 4096',
    );
    const s = parseScenario('x.yaml', `${head}      ecam: { base: 0xfffffffffffff000, size: 0x10000000 }\n${steps}`);
    expect(s.domains[0]!.virtioPciWindows!.ecam).toEqual({ base: 0xfffffffffffff000n, size: 0x10000000n });
  });

  it('names an unknown key where it is written and lists the allowed ones', () => {
    expect(errorOf('name: x\nsteps:\n  - wait: { console: dom0, for: shell, timout: 5s }\n')).toBe(
      'bad.yaml:3:40: timout: unknown key; expected one of: console, for, timeout, title',
    );
    expect(errorOf('name: x\nsteps:\n  - sleep: 5s\n')).toBe('bad.yaml:3:5: sleep: unknown key; expected one of: wait, console, ssh, backend, host');
  });

  it('reports YAML syntax errors and duplicate keys with their position', () => {
    expect(errorOf('name: x\nsteps: [\n')).toMatch(/^bad\.yaml:3:1: invalid YAML: /);
    expect(errorOf('name: x\nname: y\nsteps: []\n')).toBe('bad.yaml:2:1: invalid YAML: Map keys must be unique');
  });

  it('rejects a step that references an undeclared domain', () => {
    expect(errorOf('name: x\nsteps:\n  - console: { domain: domU2, run: ls }\n')).toBe(
      'bad.yaml:3:24: domain: domU2 is not declared under domains (declared: xen, dom0)',
    );
  });

  it('rejects missing required keys, bad capabilities and bad patterns', () => {
    expect(errorOf('steps:\n  - wait: { console: dom0, for: shell }\n')).toBe('bad.yaml:1:1: name: missing; expected a scenario name');
    expect(errorOf('name: x\nrequires: [ioreq, warp-drive]\nsteps:\n  - wait: { console: dom0, for: shell }\n')).toMatch(
      /^bad\.yaml:2:19: requires\[1\]: expected a capability \(dom0less, .*\), got "warp-drive"$/,
    );
    expect(errorOf('name: x\nsteps:\n  - ssh: { run: ls, expect: "(" }\n')).toMatch(/^bad\.yaml:3:29: expect: expected a regular expression: /);
  });

  it('says when a scenario file does not exist', () => {
    expect(() => loadScenarioFile('/nonexistent/x.yaml')).toThrow('scenario file not found: /nonexistent/x.yaml');
  });

  it('reads a file from disk', () => {
    const dir = mkdtempSync(join(tmpdir(), 'xpv-'));
    writeFileSync(join(dir, 'ok.yaml'), ok);
    expect(loadScenarioFile(join(dir, 'ok.yaml')).name).toBe('demo');
  });
});

describe('backend steps and implied requirements', () => {
  const head = 'name: x\ndomains:\n  domU1: { virtio-pci: grants }\nsteps:\n';

  it('reads start and stop steps', () => {
    const s = parseScenario('x.yaml', `${head}  - backend: { domain: domU1, devices: [virtio-net, virtio-blk] }\n  - backend: { domain: domU1, stop: true }\n`);
    expect(s.steps[0]).toMatchObject({ kind: 'backend', action: 'start', devices: ['virtio-net', 'virtio-blk'], ready: 'ioreq' });
    expect(s.steps[1]).toMatchObject({ kind: 'backend', action: 'stop', devices: [], title: 'stop the backend for domU1' });
  });

  it('a start needs devices and a stop takes none', () => {
    expect(errorOf(`${head}  - backend: { domain: domU1 }\n`)).toBe('bad.yaml:5:14: devices: missing; expected the devices to serve (virtio-net, virtio-blk)');
    expect(errorOf(`${head}  - backend: { domain: domU1, stop: true, devices: [virtio-net] }\n`)).toBe(
      'bad.yaml:5:14: backend: a backend step either starts (devices, ready) or stops (stop: true), not both',
    );
  });

  it('adds what virtio-pci domains, grants, backends and SSH need to the requirements', () => {
    const s = parseScenario('x.yaml', `${head}  - ssh: { run: xl list }\n`);
    // Either way of describing the host bridge will do: the rig decides (missingCapabilities).
    expect(s.requires.sort()).toEqual(['ioreq', 'qemu-xenpvh-pci', 'ssh', 'virtio-grants']);
    expect(parseScenario('y.yaml', 'name: y\nsteps:\n  - wait: { console: dom0, for: shell }\n').requires).toEqual([]);
  });

  it("reads who writes the host bridge, and requires that mechanism when it is named", () => {
    const scenario = (node: string) => parseScenario('n.yaml', `name: n\ndomains:\n  domU1: { virtio-pci: { mode: foreign, node: ${node} } }\nsteps:\n  - wait: { console: domU1, for: shell }\n`);
    expect(scenario('xen').domains[0]).toMatchObject({ virtioPci: 'foreign', virtioPciNode: 'xen' });
    expect(scenario('xen').requires).toContain('dom0less-virtio-pci');
    expect(scenario('xen').requires).not.toContain('trap-unmapped-accesses');
    expect(scenario('passthrough').requires).toContain('trap-unmapped-accesses');
    expect(errorOf(`name: n\ndomains:\n  domU1: { virtio-pci: { mode: foreign, node: qemu } }\nsteps:\n  - wait: { console: domU1, for: shell }\n`)).toBe(
      'bad.yaml:3:47: node: expected xen or passthrough, got "qemu"',
    );
  });

  it('skips a virtio-pci scenario on a rig with neither mechanism, and only then', () => {
    const s = parseScenario('x.yaml', `${head}  - ssh: { run: xl list }\n`);
    const base = ['ioreq', 'qemu-xenpvh-pci', 'ssh', 'virtio-grants'] as const;
    expect(missingCapabilities(s, [...base])).toEqual(['dom0less-virtio-pci or trap-unmapped-accesses (to describe the virtio-pci host bridge of domU1)']);
    expect(missingCapabilities(s, [...base, 'dom0less-virtio-pci'])).toEqual([]);
    expect(missingCapabilities(s, [...base, 'trap-unmapped-accesses'])).toEqual([]);
    expect(missingCapabilities(s, ['ssh', 'trap-unmapped-accesses'])).toEqual(['ioreq', 'qemu-xenpvh-pci', 'virtio-grants']);
  });
});
