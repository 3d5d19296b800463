// JUnit for CI systems: a <testsuite> per scenario, a <testcase> per step, and first, when
// the rig built trees under test, a "rig build" suite with a <testcase> per build. Product
// failures (a tree that did not build included) become <failure>, harness/host problems
// <error>, missing capabilities <skipped>.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import junitModule, { type Builder, type TestCase } from 'junit-report-builder';
import { formatPos } from '../errors.js';
import { redactCredentials } from '../secrets.js';
import type { BuildResult, FirstAttempt, RunResult, ScenarioResult, StepResult } from '../scenario/result.js';

// The package is CommonJS: at run time its default import is the builder itself, while
// its typings under NodeNext describe the module object around it.
const junit = junitModule as unknown as Builder;

const seconds = (ms: number) => Math.max(0, ms) / 1000;

/** XML 1.0 cannot carry most control characters, and consoles are full of them. */
function clean(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '').replace(/\r/g, '').replace(/[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]/g, '');
}

/** The library's test case element, and its children as far as this file reads them. */
type Element = ReturnType<TestCase['build']>;
type Child = { name?: string; att(name: string, value: string): unknown };

// What XML 1.0 allows in a document (its Char production); clean() has taken most of the rest.
// eslint-disable-next-line no-control-regex
const NOT_XML_CHAR = /[^\x09\x0a\x0d\x20-\ud7ff\ue000-\ufffd\u{10000}-\u{10ffff}]/gu;

/**
 * Text as the element's content, in CDATA that no `]]>` in it can close early. The library's
 * own CDATA escapes only the first `]]>` of a text (console output may hold several); here
 * each one is split between two sections (`]]` ends one, `>` starts the next; readers join
 * them). It is one raw node, not a node per section, because the pretty printer indents
 * between an element's children and that whitespace would become part of the text.
 */
function cdata(element: Element, text: string): void {
  element.raw(`<![CDATA[${text.replace(NOT_XML_CHAR, '').replaceAll(']]>', ']]]]><![CDATA[>')}]]>`);
}

/** The warnings block of a scenario's <system-out> (on its first test case): every line with its trace. */
function warningsText(scenario: ScenarioResult): string | undefined {
  const ws = scenario.warnings ?? [];
  if (ws.length === 0) return undefined;
  return [
    `kernel and Xen warnings on this scenario's system (${ws.length}):`,
    ...ws.map((w) => [`${w.domain}: ${w.line}${w.expected ? '  [expected]' : ''}`, ...w.trace.map((t) => `    ${t}`)].join('\n')),
  ].join('\n');
}

function addStep(tc: TestCase, scenario: ScenarioResult, step: StepResult): void {
  tc.className(`xen-pvh-virtio.${scenario.name}`).name(step.title).time(seconds(step.durationMs));
  // The forensics folder goes last, on its own line, so a long console tail cannot bury it.
  const where = (step.where ? ` (${formatPos(step.where)})` : '') + (step.forensics ? `\nforensics: ${step.forensics}` : '');
  // The body, which GitLab and test-reporter show and action-junit-report reads file:line from:
  // where in the scenario file, and the reason's first line (the console tail stays in the attribute).
  const body = clean(`${step.where ? `${formatPos(step.where)}: ` : ''}${(step.message ?? step.status).split('\n')[0]}`);
  // The library sets the outcome element and the counts; the texts are added to its element
  // below (see cdata), and so is the skip's reason, which it has no parameter for.
  switch (step.status) {
    case 'failed':
      tc.failure(clean(`${step.message ?? 'failed'}${where}`), step.kind);
      break;
    case 'error':
      tc.error(clean(`${step.message ?? 'error'}${where}`), 'infrastructure');
      break;
    case 'skipped':
      tc.skipped();
      break;
    case 'passed':
      break;
  }
  const retried = firstAttemptStep(scenario) === step;
  const earlier = retried ? firstAttemptNote(scenario.retriedAfter!, step) : undefined;
  const warnings = step === scenario.steps[0] ? warningsText(scenario) : undefined;
  const out = [earlier, step.excerpt, notRunAfter(scenario, step), warnings].filter((x): x is string => x !== undefined).join('\n\n');
  const build = tc.build.bind(tc);
  tc.build = (parent: Parameters<TestCase['build']>[0]) => {
    const element = build(parent);
    for (const child of element.children as Child[]) {
      if (child.name === 'failure' || child.name === 'error') cdata(child as unknown as Element, body);
      if (child.name === 'skipped') child.att('message', clean(step.message ?? scenario.skipReason ?? 'not run'));
    }
    // After the outcome and before <system-out>: where Surefire's schema puts the attempts.
    if (retried) addFirstAttempt(element, scenario, step);
    if (out) cdata(element.ele('system-out'), clean(out));
    return element;
  };
}

/**
 * A retried scenario's first attempt the way Maven Surefire reports a rerun
 * (surefire-test-report-3.0.xsd): on the step that passed this time, a <flakyError> (the step
 * counts as passed); on one that failed or errored again, a <rerunError> after its <failure>
 * or <error>. Surefire writes the first run as the outcome and later ones as reruns; here the
 * outcome is the second attempt's, since it is what the counts and the exit code follow, and
 * the element the first's. Only an infrastructure error is ever retried, so a first attempt
 * that ended otherwise (which retry.ts never reports) gets none.
 */
function addFirstAttempt(element: Element, scenario: ScenarioResult, step: StepResult): void {
  const first = scenario.retriedAfter!;
  if (first.status !== 'error' || step.status === 'skipped') return;
  const name = step.status === 'passed' ? 'flakyError' : 'rerunError';
  const attempt = element.ele(name, { message: clean(first.message), type: 'infrastructure' });
  // Like the <error> body: where in the scenario file (when this is the step it errored at), then the reason's first line.
  const at = step.title === first.step && step.where ? `${formatPos(step.where)}: ` : '';
  cdata(attempt.ele('stackTrace'), clean(`${at}${first.message.split('\n')[0]}`));
  cdata(attempt.ele('system-out'), clean(`attempt 1 of 2 ended in ${first.status} at "${first.step}" after ${seconds(first.durationMs).toFixed(1)} s; attempt 2 ran on a fresh boot`));
}

/** Under the step that ended its scenario: the steps that never started because of it. */
function notRunAfter(scenario: ScenarioResult, step: StepResult): string | undefined {
  if (step.status !== 'failed' && step.status !== 'error') return undefined;
  const after = scenario.steps.slice(scenario.steps.indexOf(step) + 1).filter((s) => s.notRun);
  if (after.length === 0) return undefined;
  return [`not run after this step (${after.length}):`, ...after.map((s) => `- ${s.title}${s.where ? ` (${formatPos(s.where)})` : ''}`)].join('\n');
}

/**
 * The test case that tells a retried scenario's first attempt: the step it errored at, unless
 * the second attempt ended before reaching it (then the step that ended it, which names the
 * steps it kept from running), or else the first step.
 */
function firstAttemptStep(scenario: ScenarioResult): StepResult | undefined {
  const first = scenario.retriedAfter;
  if (!first) return undefined;
  const cases = scenario.steps.filter((s) => !s.notRun);
  return (
    cases.find((s) => s.title === first.step) ??
    cases.find((s) => s.status === 'failed' || s.status === 'error') ??
    cases[0]
  );
}

function firstAttemptNote(first: FirstAttempt, step: StepResult): string {
  const at = step.title === first.step ? 'here' : `at "${first.step}"`;
  return `attempt 1 of 2 ended in ${first.status} ${at} after ${seconds(first.durationMs).toFixed(1)} s and was retried on a fresh boot:\n${first.message}`;
}

/** The suite of the trees' builds: its name, and the property that tells it from a scenario's suite. */
export const BUILD_SUITE = 'rig build';
export const BUILD_SUITE_PROPERTY = 'rig.builds';
/** A build's test case: "build xen". */
export const buildCaseName = (component: string) => `build ${component}`;

type Suite = ReturnType<ReturnType<Builder['newBuilder']>['testSuite']>;

/** The run's own properties, on every suite: a reader of any one suite (or of the first, as merge does) has them all. */
function runProperties(suite: Suite, result: RunResult): void {
  if (result.rig) {
    suite.property('rig.key', result.rig.key).property('rig.provider', result.rig.provider);
    suite.property('rig.cache-hit', String(result.rig.cacheHit));
    for (const [component, version] of Object.entries(result.rig.versions)) {
      if (version) suite.property(`rig.version.${component}`, version);
    }
  }
  for (const [name, v] of Object.entries(result.properties)) suite.property(name, v);
  for (const phase of result.phases) suite.property(`phase.${phase.name}`, `${seconds(phase.atMs).toFixed(3)}s`);
  // The timeline's stretches (boot, save, restore, each scenario) for tools and the bench.
  for (const span of result.timeline) suite.property(`span.${span.section}.${span.name}`, `${seconds(span.startMs).toFixed(3)}s..${seconds(span.endMs).toFixed(3)}s`);
}

/**
 * A build as a test case: passed (from the cache, its system-out says), or failed with the
 * first error as the message and the log's last lines as the body; the step and the full log
 * are in its system-out.
 */
function addBuild(tc: TestCase, build: BuildResult): void {
  tc.className(`xen-pvh-virtio.${BUILD_SUITE}`).name(buildCaseName(build.component)).time(seconds(build.durationMs));
  const out =
    build.status === 'passed'
      ? build.cached
        ? 'cache hit: built by an earlier run'
        : `built in ${seconds(build.durationMs).toFixed(1)} s`
      : [build.step ? `step: ${build.step}` : undefined, build.logFile ? `log: ${build.logFile}` : undefined].filter((x) => x !== undefined).join('\n');
  if (build.status === 'failed') tc.failure(clean(build.message ?? 'the build failed'), 'build');
  const built = tc.build.bind(tc);
  tc.build = (parent: Parameters<TestCase['build']>[0]) => {
    const element = built(parent);
    for (const child of element.children as Child[]) {
      if (child.name === 'failure') cdata(child as unknown as Element, clean(build.excerpt ?? build.message ?? 'the build failed'));
    }
    if (out) cdata(element.ele('system-out'), clean(out));
    return element;
  };
}

export function buildJunit(result: RunResult): string {
  const builder = junit.newBuilder();
  // A shard's report says which shard it is even with no suite to carry the property (an empty shard).
  builder.name(result.properties.shard ? `xen-pvh-virtio shard ${result.properties.shard}` : 'xen-pvh-virtio');
  const builds = result.builds ?? [];
  if (builds.length > 0) {
    const suite = builder.testSuite().name(BUILD_SUITE).time(seconds(builds.reduce((n, b) => n + b.durationMs, 0)));
    suite.property(BUILD_SUITE_PROPERTY, String(builds.length));
    runProperties(suite, result);
    for (const build of builds) addBuild(suite.testCase(), build);
  }
  for (const scenario of result.scenarios) {
    const suite = builder.testSuite().name(scenario.name).timestamp(scenario.startedAt).time(seconds(scenario.durationMs));
    suite.property('scenario.file', scenario.file);
    runProperties(suite, result);
    if (scenario.skipReason) suite.property('skipped.reason', scenario.skipReason);
    if (scenario.system) suite.property('system', scenario.system);
    if (scenario.systemNumber !== undefined) suite.property('system.number', String(scenario.systemNumber));
    const warnings = scenario.warnings ?? [];
    if (warnings.length > 0) {
      suite.property('warnings', String(warnings.length));
      suite.property('warnings.unexpected', String(warnings.filter((w) => !w.expected).length));
      warnings.slice(0, 5).forEach((w, i) => suite.property(`warning.${i + 1}`, clean(`${w.domain}: ${w.line}${w.expected ? ' [expected]' : ''}`)));
    }
    if (scenario.retriedAfter) {
      const first = scenario.retriedAfter;
      suite.property(`retry.${scenario.name}`, clean(`2 attempts; attempt 1: ${first.status} in "${first.step}": ${first.message.split('\n')[0]!}`));
    }
    // Steps never started after a failure are not test cases of their own: the step that ended
    // the scenario names them (reporters would otherwise count them as skipped).
    for (const step of scenario.steps.filter((s) => !s.notRun)) addStep(suite.testCase(), scenario, step);
  }
  // Messages quote git and the guests: a token in a repository URL must not reach the report.
  return redactCredentials(builder.build());
}

export function writeJunit(result: RunResult, path: string): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, buildJunit(result));
}
