import { describe, expect, it } from 'vitest';
import { buildSummary } from '../../../src/report/index.js';
import type { RunResult } from '../../../src/scenario/result.js';

const base = { startedAt: new Date(), file: 'scenarios/x.yaml' };

describe('job summary', () => {
  const result: RunResult = {
    scenarios: [
      { ...base, name: 'boot-smoke', status: 'passed', durationMs: 42_000, steps: [{ title: 'a', kind: 'wait', status: 'passed', durationMs: 1 }] },
      {
        ...base,
        name: 'virtio-pci-rescan-ping',
        status: 'failed',
        durationMs: 61_500,
        steps: [
          { title: 'wait for shell on domU1', kind: 'wait', status: 'passed', durationMs: 1 },
          { title: 'domU1: lspci -v', kind: 'console', status: 'failed', durationMs: 1, message: 'expected | Virtio\nnetwork' },
        ],
      },
      { ...base, name: 'grants', status: 'skipped', skipReason: 'the debian rig lacks virtio-grants', durationMs: 0, steps: [] },
    ],
    rig: { key: '0123456789abcdef0123', provider: 'debian', versions: { xen: '4.17.5', linux: '6.1.0' }, cacheHit: false },
    phases: [{ name: 'dom0 shell', atMs: 17_200 }],
    timeline: [
      { section: 'rig', name: 'rig (cached)', startMs: 0, endMs: 2_500 },
      { section: 'system', name: 'boot 1', startMs: 2_600, endMs: 19_000 },
      { section: 'system', name: 'save', startMs: 19_000, endMs: 21_400 },
      { section: 'scenarios', name: 'boot-smoke', startMs: 21_400, endMs: 63_400 },
      { section: 'system', name: 'restore 2', startMs: 63_500, endMs: 63_500 },
    ],
    properties: {},
  };
  const md = buildSummary(result, { junitPath: '/w/junit.xml', logsDir: '/w/logs' });

  it('counts and tabulates the scenarios with status, duration and the first problem', () => {
    expect(md).toContain('**1 passed, 1 failed, 0 errored, 1 skipped**');
    expect(md).toContain('| boot-smoke | ✅ passed | 42.0s | 1/1 |  |');
    expect(md).toContain('| virtio-pci-rescan-ping | ❌ failed | 1m2s | 1/2 | domU1: lspci -v: expected \\| Virtio network |');
    expect(md).toContain('| grants | ⏭️ skipped | 0ms | 0/0 | the debian rig lacks virtio-grants |');
  });

  it('names the rig, the phases and where the reports are', () => {
    expect(md).toContain('Rig: `debian` xen 4.17.5, linux 6.1.0 (key `0123456789abcdef`, built)');
    expect(md).toContain('| dom0 shell | 17.2s |');
    expect(md).toContain('JUnit: `/w/junit.xml` · logs: `/w/logs`');
  });

  it('draws the timeline as a Mermaid gantt: sections in order, bars in ms from the start', () => {
    const chart = md.slice(md.indexOf('```mermaid'), md.indexOf('```', md.indexOf('```mermaid') + 3) + 3);
    expect(chart.split('\n')).toEqual([
      '```mermaid',
      'gantt',
      '  title Where the run spent its time',
      '  dateFormat x',
      '  axisFormat %M:%S',
      '  section rig',
      '  rig (cached) (2.5s) : 0, 2500',
      '  section system',
      '  boot 1 (16.4s) : 2600, 19000',
      '  save (2.4s) : 19000, 21400',
      '  section scenarios',
      '  boot-smoke (42.0s) : 21400, 63400',
      '  section system',
      // Zero-length bars get a minimal width so they still render.
      '  restore 2 (0ms) : 63500, 63600',
      '```',
    ]);
  });

  it('says which scenarios ran on a restored system', () => {
    const restored = buildSummary({ ...result, scenarios: [{ ...result.scenarios[0]!, system: 'restored' }] }, { junitPath: 'j', logsDir: 'l' });
    expect(restored).toContain('| boot-smoke | ✅ passed | 42.0s (restored system) | 1/1 |  |');
  });

  it('leads with an infrastructure error that ended the run', () => {
    const fatal = buildSummary({ ...result, fatal: { status: 'error', message: 'rig debian: apt-get failed' } }, { junitPath: 'j', logsDir: 'l' });
    expect(fatal).toContain('> **Infrastructure error:** rig debian: apt-get failed');
  });

  it('says which scenario was retried and why', () => {
    const retried: RunResult = {
      ...result,
      scenarios: [{ ...result.scenarios[0]!, retriedAfter: { status: 'error', step: 'wait for shell on dom0', message: 'no Xen banner | within 120 s', durationMs: 5000 } }],
    };
    expect(buildSummary(retried, { junitPath: 'j', logsDir: 'l' })).toContain(
      '↻ **boot-smoke** was retried once on a fresh boot: attempt 1 ended in error at "wait for shell on dom0": no Xen banner \\| within 120 s',
    );
  });
});
