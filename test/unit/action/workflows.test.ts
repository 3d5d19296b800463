import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { OPTIONS, OUTPUTS } from '../../../src/config/index.js';
import { examples, isOurs, JUNIT_ARTIFACT, MAJORS } from './workflow-files.js';

const dir = resolve(__dirname, '../../../workflows');

interface Step {
  id?: string;
  uses?: string;
  with?: Record<string, unknown>;
}

// report.yml alone runs no scenario: it publishes the others' reports (workflow-hygiene.test.ts).
const callers = examples.filter((f) => f.path !== 'workflows/report.yml');

it('every example but report.yml runs the action', () => {
  for (const f of callers) expect(Object.values(f.wf.jobs).some((j) => j.steps.some(isOurs)), f.path).toBe(true);
  expect(Object.values(examples.find((f) => f.path === 'workflows/report.yml')!.wf.jobs).some((j) => j.steps.some(isOurs))).toBe(false);
});

describe.each(callers.map((f) => [f.path, f] as const))('%s', (file, { text, wf }) => {
  const ours = Object.values(wf.jobs).flatMap((j) => j.steps.filter(isOurs));

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
    expect(Object.keys(on('consumer.yml'))).toEqual(expect.arrayContaining(['pull_request', 'push', 'schedule']));
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

describe('matrix.yml: one rig per ref, refs × shards, one merged report', () => {
  interface Job {
    needs?: string | string[];
    if?: string;
    strategy?: { 'fail-fast'?: boolean; matrix: Record<string, unknown[]> };
    steps: (Step & { run?: string; name?: string; if?: string })[];
  }
  const text = readFileSync(`${dir}/matrix.yml`, 'utf8');
  const wf = parse(text) as { on: Record<string, unknown>; env: Record<string, string>; jobs: Record<string, Job> };
  const jobs = Object.entries(wf.jobs);
  const find = (pred: (j: Job) => boolean) => jobs.find(([, j]) => pred(j))!;
  const uses = (j: Job, action: string) => j.steps.find((s) => s.uses?.startsWith(`${action}@`));
  const [buildId, build] = find((j) => j.steps.some((s) => s.run?.includes(' rig build ')));
  const [shardsId, shards] = find((j) => j.steps.some((s) => s.uses?.includes('/xen-pvh-virtio-action@')));
  const [, report] = find((j) => j.steps.some((s) => s.run?.includes(' merge ')));

  it('builds the rig once per ref and saves it to the Actions cache; the shards restore exactly that', () => {
    expect(build.strategy!.matrix.ref).toEqual(shards.strategy!.matrix.ref);
    const save = uses(build, 'actions/cache/save')!;
    const restore = uses(shards, 'actions/cache/restore')!;
    expect(restore.with).toMatchObject({ key: save.with!.key, path: save.with!.path, 'fail-on-cache-miss': true });
    expect(String(save.with!.key)).toContain('${{ matrix.ref }}');
    expect(shards.needs).toBe(buildId);
  });

  it('runs a matrix of refs × shards, each job its shard i/n of the same scenarios, on the rig built for its ref', () => {
    const n = shards.strategy!.matrix.shard!;
    expect(n).toEqual(Array.from({ length: n.length }, (_, i) => i + 1));
    expect(shards.strategy!['fail-fast']).toBe(false);
    const action = shards.steps.find((s) => s.uses?.includes('/xen-pvh-virtio-action@'))!;
    expect(action.with).toMatchObject({ shard: `\${{ matrix.shard }}/${n.length}`, rig: 'prebuilt', 'rig-path': uses(shards, 'actions/cache/restore')!.with!.path });
    expect(action.with!.scenarios).toBe('${{ env.SCENARIOS }}');
    expect(wf.env.SCENARIOS!.split(/\s+/).length).toBeGreaterThan(n.length - 1);
  });

  it('uploads every shard\'s reports, even a failed one, under names the last job downloads', () => {
    const upload = uses(shards, 'actions/upload-artifact')!;
    expect(upload.if).toBe('always()');
    const name = String(upload.with!.name);
    expect(name).toContain('${{ matrix.ref }}');
    expect(name).toContain('${{ matrix.shard }}');
    const download = uses(report, 'actions/download-artifact')!;
    const pattern = new RegExp(`^${String(download.with!.pattern).replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*')}$`);
    expect(name.replace('${{ matrix.ref }}', 'stable-4.20').replace('${{ matrix.shard }}', '3')).toMatch(pattern);
    // Each artifact in its own folder, so each shard's files stay together.
    expect(download.with!['merge-multiple']).toBeUndefined();
    expect(String(upload.with!.path)).toContain('steps.xen.outputs.junit-path');
  });

  it('merges after every shard, whatever they did, and leaves the merged report for report.yml to publish', () => {
    expect(report.needs).toBe(shardsId);
    expect(report.if).toBe('always()');
    const merge = report.steps.find((s) => s.run?.includes(' merge '))!;
    const download = uses(report, 'actions/download-artifact')!;
    expect(merge.run).toMatch(new RegExp(`dist/cli\\.js merge ${String(download.with!.path)} --junit-path (\\S+)`));
    const junit = /--junit-path (\S+)/.exec(merge.run!)![1];
    const keep = report.steps.find((s) => s.uses?.startsWith('actions/upload-artifact@') && s.with?.name === JUNIT_ARTIFACT)!;
    expect(keep.with!.path).toBe(junit);
    // Also when merge exits non-zero for a failed scenario or a missing shard.
    expect(keep.if).toBe('always()');
    // The shards' artifacts are downloaded by pattern: the merged report must not be among them.
    const pattern = new RegExp(`^${String(download.with!.pattern).replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*')}$`);
    expect(JUNIT_ARTIFACT).not.toMatch(pattern);
  });

  it('uses the current majors of the artifact and cache actions', () => {
    const all = jobs.flatMap(([, j]) => j.steps.map((s) => s.uses ?? '')).filter(Boolean);
    const at = (action: string) => `${action}@${MAJORS[action.split('/').slice(0, 2).join('/')]!}`;
    expect(new Set(all.filter((u) => u.startsWith('actions/upload-artifact@')))).toEqual(new Set([at('actions/upload-artifact')]));
    expect(all.filter((u) => u.startsWith('actions/download-artifact@'))).toEqual([at('actions/download-artifact')]);
    expect(all.filter((u) => u.startsWith('actions/cache/'))).toEqual([at('actions/cache/save'), at('actions/cache/restore')]);
    expect(MAJORS).toMatchObject({ 'actions/upload-artifact': 'v7', 'actions/download-artifact': 'v8', 'actions/cache': 'v5' });
  });
});
