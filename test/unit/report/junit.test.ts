import { describe, expect, it } from 'vitest';
import { buildJunit } from '../../../src/report/index.js';
import type { RunResult, ScenarioResult, Status } from '../../../src/scenario/result.js';
import { validateJunit as validate } from '../../support/junit.js';

function scenario(name: string, statuses: Status[], extra: Partial<ScenarioResult> = {}): ScenarioResult {
  return {
    name,
    file: `scenarios/${name}.yaml`,
    status: statuses.includes('error') ? 'error' : statuses.includes('failed') ? 'failed' : statuses.every((s) => s === 'skipped') ? 'skipped' : 'passed',
    startedAt: new Date('2026-11-26T10:00:00Z'),
    durationMs: 12_345,
    steps: statuses.map((status, i) => ({
      title: `step ${i} <with> "markup" & \u0007bell`,
      kind: 'console',
      status,
      durationMs: 1000 + i,
      where: { file: `scenarios/${name}.yaml`, line: 10 + i, column: 5 },
      ...(status === 'passed' ? {} : { message: `${status} because \x1b[31mreasons\x1b[0m` }),
      excerpt: '(XEN) DOM1: [    1.0] Booting Linux\r\ndomU# lspci\x1b[6n\n',
    })),
    ...extra,
  };
}

const result: RunResult = {
  scenarios: [
    scenario('all-pass', ['passed', 'passed']),
    scenario('product-failure', ['passed', 'failed', 'skipped']),
    scenario('infra-error', ['error', 'skipped']),
    scenario('lacks-capability', ['skipped', 'skipped'], { skipReason: 'the debian rig lacks ioreq' }),
  ],
  rig: { key: 'abc123', provider: 'debian', versions: { xen: '4.17.5', linux: '6.1.0-40', qemu: undefined }, cacheHit: true },
  phases: [
    { name: 'xen banner', atMs: 700 },
    { name: 'dom0 shell', atMs: 17_000 },
  ],
  timeline: [{ section: 'system', name: 'boot 1', startMs: 2_000, endMs: 17_500 }],
  properties: { boot: 'uboot' },
};

describe('JUnit report', () => {
  const xml = buildJunit(result);

  it('validates against the Jenkins JUnit schema for passed, failed, errored and skipped runs', () => {
    validate(xml);
    for (const s of result.scenarios) validate(buildJunit({ ...result, scenarios: [s] }));
  });

  it('has a suite per scenario and a case per step, each with a time', () => {
    expect(xml.match(/<testsuite /g)).toHaveLength(4);
    expect(xml.match(/<testcase /g)).toHaveLength(9);
    const cases = xml.split('\n').filter((l) => l.trim().startsWith('<testcase '));
    expect(cases).toHaveLength(9);
    for (const tc of cases) expect(tc).toMatch(/ time="\d+(\.\d+)?"/);
  });

  it('maps product failures to <failure>, infrastructure to <error>, capabilities to <skipped> with the reason', () => {
    expect(xml).toMatch(/<testsuite name="product-failure" [^\n]* tests="3" failures="1" errors="0" skipped="1"/);
    // The reason in the attribute, and in the body (which GitLab and test-reporter show) with
    // the scenario file's line first, where action-junit-report finds file and line.
    expect(xml).toMatch(/<failure message="failed because reasons \(scenarios\/product-failure\.yaml:11:5\)" type="console"><!\[CDATA\[scenarios\/product-failure\.yaml:11:5: failed because reasons\]\]><\/failure>/);
    expect(xml).toMatch(/<error message="error because reasons \(scenarios\/infra-error\.yaml:10:5\)" type="infrastructure"><!\[CDATA\[scenarios\/infra-error\.yaml:10:5: error because reasons\]\]><\/error>/);
    expect(xml).toContain('<skipped message="skipped because reasons"/>');
    expect(xml).toContain('<property name="skipped.reason" value="the debian rig lacks ioreq"/>');
  });

  it('leaves steps never started after a failure out of the counts, and names them under the step that failed', () => {
    const failed = scenario('stopped-early', ['passed', 'failed', 'skipped', 'skipped']);
    for (const step of failed.steps.slice(2)) Object.assign(step, { notRun: true, message: 'not run: step 2 failed' });
    const one = buildJunit({ ...result, scenarios: [failed] });
    validate(one);
    // "1 failed" rather than "1 failed, 2 skipped": reporters count test cases, and these never ran.
    expect(one).toMatch(/<testsuite name="stopped-early" [^\n]* tests="2" failures="1" errors="0" skipped="0"/);
    expect(one.match(/<testcase /g)).toHaveLength(2);
    expect(one).toContain('not run after this step (2):\n- step 2 <with> "markup" & bell (scenarios/stopped-early.yaml:12:5)\n- step 3');
    // A capability skip is still a skip.
    expect(buildJunit({ ...result, scenarios: [result.scenarios[3]!] })).toMatch(/tests="2" failures="0" errors="0" skipped="2"/);
  });

  it('carries rig versions and phase timings as properties, and console excerpts without control characters', () => {
    expect(xml).toContain('<property name="rig.version.xen" value="4.17.5"/>');
    expect(xml).toContain('<property name="rig.cache-hit" value="true"/>');
    expect(xml).toContain('<property name="phase.dom0 shell" value="17.000s"/>');
    expect(xml).toContain('<property name="span.system.boot 1" value="2.000s..17.500s"/>');
    expect(xml).toContain('<system-out><![CDATA[(XEN) DOM1: [    1.0] Booting Linux\ndomU# lspci\n]]></system-out>');
    expect(xml).not.toContain("\u0007");
    expect(xml).not.toContain("\u001b");
  });

  it('keeps both attempts of a retried scenario visible: a property and the first attempt on its step', () => {
    const retried = scenario('retried', ['passed', 'passed'], {
      retriedAfter: { status: 'error', step: 'step 1 <with> "markup" & \u0007bell', message: 'SSH to dom0 never answered\nsecond line', durationMs: 31_000 },
    });
    const out = buildJunit({ ...result, scenarios: [retried] });
    validate(out);
    expect(out).toMatch(/<testsuite name="retried" [^\n]* failures="0" errors="0"/);
    expect(out).toContain('<property name="retry.retried" value="2 attempts; attempt 1: error in &quot;step 1 &lt;with> &quot;markup&quot; &amp; bell&quot;: SSH to dom0 never answered"/>');
    expect(out).toContain('<system-out><![CDATA[attempt 1 of 2 ended in error here after 31.0 s and was retried on a fresh boot:\nSSH to dom0 never answered\nsecond line\n\n(XEN) DOM1');
    expect(out.match(/attempt 1 of 2/g)).toHaveLength(1);
  });
});
