import { describe, expect, it } from 'vitest';
import { readJunit } from '../../../src/merge/junit.js';
import { parseXml, textOf, type XmlElement } from '../../../src/merge/xml.js';
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
    expect(out.match(/attempt 1 of 2 ended in error here/g)).toHaveLength(1);
  });

  // Maven Surefire's rerun elements (surefire-test-report-3.0.xsd).
  const sshError = 'SSH to dom0 never answered\nconsole tail';
  const retriedAfter = { status: 'error' as const, step: 'step 1 <with> "markup" & \u0007bell', message: sshError, durationMs: 31_000 };
  /** The report's test cases, parsed, in order. */
  const casesOf = (xml: string) => {
    const suites = parseXml(xml).children.filter((c): c is XmlElement => typeof c !== 'string');
    return suites.flatMap((s) => s.children.filter((c): c is XmlElement => typeof c !== 'string' && c.name === 'testcase'));
  };
  const elementsOf = (tc: XmlElement) => tc.children.filter((c): c is XmlElement => typeof c !== 'string');
  const suiteCounts = (xml: string) => [...xml.matchAll(/<testsuites? [^>]*?(tests="\d+" failures="\d+" errors="\d+" skipped="\d+")/g)].map((m) => m[1]);

  it('tells a first attempt that errored at a step the retry passed as <flakyError> on that step, counted as passed', () => {
    const passedAfterRetry = scenario('flaky', ['passed', 'passed', 'passed'], { retriedAfter });
    const out = buildJunit({ ...result, scenarios: [passedAfterRetry] });
    validate(out);
    const cases = casesOf(out);
    // Only on step 1, where attempt 1 errored: after the (absent) outcome, before <system-out>.
    expect(cases.map((tc) => elementsOf(tc).map((e) => e.name))).toEqual([['system-out'], ['flakyError', 'system-out'], ['system-out']]);
    const flaky = elementsOf(cases[1]!)[0]!;
    expect(Object.fromEntries(flaky.attrs)).toEqual({ message: sshError, type: 'infrastructure' });
    const [stackTrace, systemOut] = elementsOf(flaky);
    expect([stackTrace!.name, systemOut!.name]).toEqual(['stackTrace', 'system-out']);
    // Its first line, after where the step is, like the <error> body.
    expect(textOf(stackTrace!)).toBe('scenarios/flaky.yaml:11:5: SSH to dom0 never answered');
    expect(textOf(systemOut!)).toBe('attempt 1 of 2 ended in error at "step 1 <with> "markup" & bell" after 31.0 s; attempt 2 ran on a fresh boot');
    // Surefire counts a flaky test as passed: the same counts as without the retry.
    expect(suiteCounts(out)).toEqual(suiteCounts(buildJunit({ ...result, scenarios: [{ ...passedAfterRetry, retriedAfter: undefined }] })));
    expect(suiteCounts(out)).toEqual(['tests="3" failures="0" errors="0" skipped="0"', 'tests="3" failures="0" errors="0" skipped="0"']);
    // The property and the note stay for the tools that read them.
    expect(out).toContain('<property name="retry.flaky" value="2 attempts; attempt 1: error in');
    expect(textOf(elementsOf(cases[1]!)[1]!)).toMatch(/^attempt 1 of 2 ended in error here after 31\.0 s and was retried on a fresh boot:\nSSH to dom0 never answered\nconsole tail\n\n/);
  });

  it('tells a first attempt of a step that errored again as <rerunError> after its <error>, and one that failed after its <failure>', () => {
    const erroredTwice = scenario('twice', ['passed', 'error', 'skipped'], { retriedAfter });
    erroredTwice.steps[2]!.notRun = true;
    const out = buildJunit({ ...result, scenarios: [erroredTwice] });
    validate(out);
    expect(casesOf(out).map((tc) => elementsOf(tc).map((e) => e.name))).toEqual([['system-out'], ['error', 'rerunError', 'system-out']]);
    expect(out).toMatch(/<\/error>\s*<rerunError message="SSH to dom0 never answered&#xA;console tail" type="infrastructure">\s*<stackTrace><!\[CDATA\[scenarios\/twice\.yaml:11:5: SSH to dom0 never answered\]\]><\/stackTrace>/);
    expect(suiteCounts(out)).toEqual(['tests="2" failures="0" errors="1" skipped="0"', 'tests="2" failures="0" errors="1" skipped="0"']);

    const failedAfter = scenario('then-failed', ['passed', 'failed'], { retriedAfter });
    const failed = buildJunit({ ...result, scenarios: [failedAfter] });
    validate(failed);
    expect(casesOf(failed).map((tc) => elementsOf(tc).map((e) => e.name))).toEqual([['system-out'], ['failure', 'rerunError', 'system-out']]);
    expect(suiteCounts(failed)[1]).toBe('tests="2" failures="1" errors="0" skipped="0"');
  });

  it('tells a first attempt whose step the retry never reached on the step that ended the retry', () => {
    // Attempt 1 errored at step 2; attempt 2 failed at step 1, so step 2 is no test case.
    const endedEarlier = scenario('earlier', ['passed', 'failed', 'skipped'], { retriedAfter: { ...retriedAfter, step: 'step 2 <with> "markup" & \u0007bell' } });
    endedEarlier.steps[2]!.notRun = true;
    const out = buildJunit({ ...result, scenarios: [endedEarlier] });
    validate(out);
    const cases = casesOf(out);
    expect(cases.map((tc) => elementsOf(tc).map((e) => e.name))).toEqual([['system-out'], ['failure', 'rerunError', 'system-out']]);
    // No file:line: that would be this step's, not the one attempt 1 errored at.
    expect(textOf(elementsOf(elementsOf(cases[1]!)[1]!)[0]!)).toBe('SSH to dom0 never answered');
    expect(textOf(elementsOf(cases[1]!)[2]!)).toMatch(/^attempt 1 of 2 ended in error at "step 2 <with> "markup" & bell" after 31\.0 s/);
  });

  it('keeps every text intact through XML: markup, quotes, several ]]>, and no character XML cannot carry', () => {
    const hostile = 'a ]]> b ]]>]]> <c> & "d" \'e\' \x1b[31mred\x1b[0m\u0000\u0007\ufffe\ud800 f\r\nnext ]]';
    const s = scenario('hostile', ['passed', 'error'], { retriedAfter: { ...retriedAfter, message: hostile } });
    s.steps[1]!.message = hostile;
    s.steps[0]!.excerpt = hostile;
    const out = buildJunit({ ...result, scenarios: [s] });
    validate(out);
    const expected = 'a ]]> b ]]>]]> <c> & "d" \'e\' red f\nnext ]]';
    const [first, second] = casesOf(out);
    expect(textOf(elementsOf(first!)[0]!)).toBe(expected);
    const [error, rerun] = elementsOf(second!);
    expect(error!.attrs.get('message')).toBe(`${expected} (scenarios/hostile.yaml:11:5)`);
    expect(textOf(error!)).toBe('scenarios/hostile.yaml:11:5: a ]]> b ]]>]]> <c> & "d" \'e\' red f');
    expect(rerun!.attrs.get('message')).toBe(expected);
    expect(textOf(elementsOf(rerun!)[0]!)).toBe('scenarios/hostile.yaml:11:5: a ]]> b ]]>]]> <c> & "d" \'e\' red f');
    // The merge reads such a report (passing over the retry element) and keeps the texts.
    const back = readJunit(out, 'hostile.xml').suites[0]!.cases;
    expect(back[0]!.systemOut).toBe(expected);
    expect(back[1]!.outcome).toEqual({ element: 'error', message: `${expected} (scenarios/hostile.yaml:11:5)`, type: 'infrastructure', text: textOf(error!) });
  });
});
