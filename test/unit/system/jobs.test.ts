// How many systems run at once, and how scenarios are grouped for them.
import { describe, expect, it } from 'vitest';
import { resolvePlan, type RawOptions } from '../../../src/config/index.js';
import { defaultJobs } from '../../../src/config/plan.js';
import { batchesOf } from '../../../src/system/index.js';

const raw = (values: RawOptions['values']): RawOptions => ({ values, label: (n) => `--${n}` });
const GiB = 1024 ** 3;

describe('jobs', () => {
  it('defaults to one system per two cores and 4 GiB, at least one', () => {
    expect(defaultJobs(2, 8 * GiB)).toBe(1);
    expect(defaultJobs(1, 64 * GiB)).toBe(1);
    expect(defaultJobs(4, 16 * GiB)).toBe(2);
    expect(defaultJobs(16, 64 * GiB)).toBe(8);
    // Memory bounds it too: eight cores with 7 GiB run one.
    expect(defaultJobs(8, 7 * GiB)).toBe(1);
    expect(defaultJobs(8, 1 * GiB)).toBe(1);
  });

  it('takes a whole number and names the option when it is not one', () => {
    const plan = (jobs: string) => resolvePlan(raw({ jobs }), { cwd: '/work', env: { HOME: '/h' } });
    expect(plan('3').jobs).toBe(3);
    expect(plan('').jobs).toBeGreaterThanOrEqual(1);
    for (const bad of ['0', '-1', 'two', '1.5', '65']) expect(() => plan(bad)).toThrow(`--jobs: expected a whole number from 1 to 64, or empty for what the runner allows, got "${bad}"`);
  });
});

describe('batchesOf', () => {
  it('groups the scenarios that share a system, in order', () => {
    expect(batchesOf([true, false, true, true, false, false])).toEqual([[0, 1], [2], [3, 4, 5]]);
    expect(batchesOf([true])).toEqual([[0]]);
    expect(batchesOf([])).toEqual([]);
  });
});
