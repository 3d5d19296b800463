import { readdirSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { OPTIONS, OUTPUTS } from '../../../src/config/index.js';

const dir = resolve(__dirname, '../../../workflows');
const files = readdirSync(dir).filter((f) => f.endsWith('.yml'));

interface Step {
  id?: string;
  uses?: string;
  with?: Record<string, unknown>;
}

describe.each(files)('workflows/%s', (file) => {
  const text = readFileSync(`${dir}/${file}`, 'utf8');
  const wf = parse(text) as { on: unknown; jobs: Record<string, { steps: Step[] }> };
  const ours = Object.values(wf.jobs).flatMap((j) => j.steps.filter((s) => s.uses?.includes('/xen-pvh-virtio-action@')));

  it('uses the action with only inputs that action.yml declares', () => {
    expect(ours.length).toBeGreaterThan(0);
    for (const step of ours) {
      for (const key of Object.keys(step.with ?? {})) expect(Object.keys(OPTIONS), `${file}: input ${key}`).toContain(key);
    }
  });

  it('reads only outputs that action.yml declares', () => {
    const ids = new Set(ours.map((s) => s.id));
    const refs = [...text.matchAll(/steps\.([\w-]+)\.outputs\.([\w-]+)/g)].filter((m) => ids.has(m[1]));
    expect(refs.length).toBeGreaterThan(0);
    for (const m of refs) expect(Object.keys(OUTPUTS), `${file}: output ${m[2]}`).toContain(m[2]);
  });
});

describe('workflow triggers', () => {
  it('pr.yml runs on pull requests and nightly.yml on a schedule and by hand', () => {
    const on = (f: string) => (parse(readFileSync(`${dir}/${f}`, 'utf8')) as { on: Record<string, unknown> }).on;
    expect(Object.keys(on('pr.yml'))).toContain('pull_request');
    expect(Object.keys(on('consumer.yml'))).toContain('pull_request');
    expect(Object.keys(on('nightly.yml'))).toEqual(expect.arrayContaining(['schedule', 'workflow_dispatch']));
    expect(Object.keys(on('yocto.yml'))).toEqual(expect.arrayContaining(['schedule', 'workflow_dispatch']));
  });

  it("pr.yml builds the pull request's own Xen tree; consumer.yml the default rig", () => {
    const step = (f: string) => {
      const wf = parse(readFileSync(`${dir}/${f}`, 'utf8')) as { jobs: Record<string, { steps: Step[] }> };
      const steps = Object.values(wf.jobs)[0]!.steps;
      expect(steps[0]!.uses, `${f} checks out first`).toMatch(/^actions\/checkout@/);
      return steps.find((s) => s.uses?.includes('/xen-pvh-virtio-action@'))!;
    };
    expect(step('pr.yml').with).toMatchObject({ rig: 'source', 'xen-path': '.' });
    expect(step('consumer.yml').with?.rig).toBeUndefined();
  });

  it("the release publishes both default rigs with their checksums, as the provider looks for them", () => {
    const text = readFileSync(resolve(__dirname, '../../../.github/workflows/release.yml'), 'utf8');
    const wf = parse(text) as { on: { push: { tags: string[] } }; jobs: Record<string, { steps: { run?: string }[] }> };
    expect(wf.on.push.tags).toEqual(['v*']);
    const runs = Object.values(wf.jobs)[0]!.steps.map((s) => s.run ?? '').join('\n');
    expect(runs).toContain('scripts/publish-rigs release debian source');
    expect(runs).toMatch(/gh release upload "\$TAG" release\/\*\.tar\.gz release\/SHA256SUMS/);
  });

  it('yocto.yml runs the yocto provider on a self-hosted runner and keeps the rig it built', () => {
    const wf = parse(readFileSync(`${dir}/yocto.yml`, 'utf8')) as { jobs: Record<string, { 'runs-on': string[]; steps: Step[] }> };
    const job = Object.values(wf.jobs)[0]!;
    expect(job['runs-on']).toContain('self-hosted');
    const ours = job.steps.find((s) => s.uses?.includes('/xen-pvh-virtio-action@'))!;
    expect(ours.with?.rig).toBe('yocto');
    const keep = job.steps.find((s) => s.with?.name === 'xen-pvh-virtio-yocto-rig')!;
    // The artifact is the bundle directory under the cache dir the action used.
    expect(keep.with?.path).toBe(`${String(ours.with?.['cache-dir'])}/rigs/\${{ steps.xen.outputs.rig-key }}`);
  });
});
