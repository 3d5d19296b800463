// nightly.yml closes the loop: a green night records its commits in the Actions cache, a failed
// one after a green one starts a bisect job per component, whose verdict heads its summary and
// is a job output. Its bisect command line is read with the CLI's own parser, so a misspelt
// flag fails here rather than at night.
import { describe, expect, it } from 'vitest';
import { BISECT_FLAGS } from '../../../src/bisect/index.js';
import { parseCommandLine } from '../../../src/cli/args.js';
import { example, isOurs, type Job } from './workflow-files.js';

const wf = example('nightly.yml').wf;
const jobs = Object.entries(wf.jobs);
const [nightlyId, nightly] = jobs.find(([, j]) => j.steps.some(isOurs))!;
const [, bisect] = jobs.find(([, j]) => j.steps.some((s) => s.run?.includes('dist/cli.js bisect ')))!;
const uses = (j: Job, action: string) => j.steps.filter((s) => s.uses?.startsWith(`${action}@`));

describe('nightly.yml', () => {
  it('restores the newest green record of its branch before the run and saves a new one only after a green night', () => {
    const [restore] = uses(nightly, 'actions/cache/restore');
    const [save] = uses(nightly, 'actions/cache/save');
    expect(nightly.steps.indexOf(restore!)).toBeLessThan(nightly.steps.findIndex(isOurs));
    const prefix = String(restore!.with!['restore-keys']);
    expect(prefix).toBe('xen-pvh-virtio-nightly-green-${{ github.ref_name }}-');
    expect(String(save!.with!.key).startsWith(prefix)).toBe(true);
    expect(save!.with!.path).toBe(restore!.with!.path);
    expect(save!.if).toMatch(/steps\.record\.outputs\.green == 'true'/);
    // The record reads the commits the run built, from its result.json, also after a failed run.
    const record = nightly.steps.find((s) => s.id === 'record')!;
    expect(record.if).toBe('always()');
    expect(record.run).toContain('result.json');
    expect(record.run).toContain('$v["xen-commit"]');
    expect(record.run).toContain('$v["qemu-commit"]');
    expect(nightly.steps.indexOf(record)).toBeLessThan(nightly.steps.indexOf(save!));
  });

  it('bisects, per component, only after a night that failed where the last green one passed', () => {
    expect(bisect.needs).toBe(nightlyId);
    expect(bisect.if).toMatch(/needs\.nightly\.outputs\.regressed == 'true'/);
    expect(bisect.strategy!.matrix.component).toEqual(['xen', 'qemu']);
    expect(bisect.strategy!['fail-fast']).toBe(false);
  });

  it("runs a bisect the CLI accepts, writes the job's summary first, and names each culprit as a job output", () => {
    const step = bisect.steps.find((s) => s.id === 'bisect')!;
    // No step before it writes a summary: the verdict heads the job's page.
    expect(bisect.steps.slice(0, bisect.steps.indexOf(step)).every((s) => s.run === undefined)).toBe(true);
    const line = step.run!.split('\n').filter((l) => !l.trim().startsWith('#')).join('\n').replace(/\\\n/g, ' ');
    const command = /dist\/cli\.js (bisect .*)/.exec(line)![1]!;
    const words = command.split(/\s+/).filter((w) => w !== '"$@"').map((w) => w.replace(/^"(.*)"$/, '$1'));
    const parsed = parseCommandLine(words, BISECT_FLAGS);
    expect(parsed.words).toEqual(['bisect', '$COMPONENT']);
    expect(parsed.raw.values).toMatchObject({ scenarios: '$SCENARIOS', 'fail-on-warnings': 'true', 'junit-path': 'bisect/junit.xml', 'logs-dir': 'bisect/logs' });
    // The ends and the held component, set per component above the command.
    for (const set of step.run!.matchAll(/set -- (.*)/g)) {
      const flags = parseCommandLine(set[1]!.split(/\s+/).map((w) => w.replace(/^"(.*)"$/, '$1')), BISECT_FLAGS);
      expect(Object.keys(flags.own).sort()).toEqual(['bad', 'good', 'repo']);
    }
    expect(Object.keys((bisect as Job & { outputs?: Record<string, string> }).outputs ?? {})).toEqual(['xen-culprit', 'qemu-culprit']);
    const publish = uses(bisect, 'mikepenz/action-junit-report')[0]!;
    expect(publish.with!.report_paths).toBe('bisect/junit.xml');
  });
});
