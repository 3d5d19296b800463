// Which scenarios start on a new system, and what the booted-state key depends on.
import { describe, expect, it } from 'vitest';
import type { Scenario, Step } from '../../../src/config/types.js';
import { newSystemAt } from '../../../src/scenario/systems-plan.js';

const where = { file: 'x.yaml', line: 1, column: 1 };
const wait: Step = { kind: 'wait', console: 'dom0', for: { shell: true }, timeoutMs: 1000, where, title: 'wait' };
const backend: Step = { kind: 'backend', domain: 'domU1', action: 'start', devices: ['virtio-net'], ready: 'ioreq', timeoutMs: 1000, where, title: 'backend' };
const scenario = (name: string, steps: Step[], freshBoot = false): Scenario => ({ name, file: `${name}.yaml`, requires: [], domains: [], steps, ...(freshBoot ? { freshBoot } : {}) });

describe('newSystemAt', () => {
  it('runs read-only scenarios on one system and gives each backend scenario its own', () => {
    const plan = [scenario('smoke', [wait]), scenario('seed', [wait, backend]), scenario('blk', [backend]), scenario('smoke2', [wait])];
    // seed touches the domU (new system), blk too, and nothing may follow blk on its system.
    expect(newSystemAt(plan)).toEqual([true, true, true, true]);
    expect(newSystemAt([scenario('a', [wait]), scenario('b', [wait]), scenario('seed', [backend])])).toEqual([true, false, true]);
  });

  it('lets a backend scenario that comes first use the first system', () => {
    expect(newSystemAt([scenario('seed', [backend]), scenario('b', [wait])])).toEqual([true, true]);
  });

  it('gives a fresh-boot scenario a new system unless it is the first', () => {
    expect(newSystemAt([scenario('boot', [wait], true), scenario('b', [wait]), scenario('again', [wait], true)])).toEqual([true, false, true]);
  });
});
