import { describe, expect, it } from 'vitest';
import { buildSummary } from '../../src/report/index.js';
import type { RunResult } from '../../src/scenario/result.js';

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
