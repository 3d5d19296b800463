// JUnit for CI systems: a <testsuite> per scenario, a <testcase> per step. Product
// failures become <failure>, harness/host problems <error>, missing capabilities <skipped>.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import junitModule, { type Builder, type TestCase } from 'junit-report-builder';
import { formatPos } from '../errors.js';
import { redactCredentials } from '../secrets.js';
import type { RunResult, ScenarioResult, StepResult } from '../scenario/result.js';

// The package is CommonJS: at run time its default import is the builder itself, while
// its typings under NodeNext describe the module object around it.
const junit = junitModule as unknown as Builder;

const seconds = (ms: number) => Math.max(0, ms) / 1000;

/** XML 1.0 cannot carry most control characters, and consoles are full of them. */
function clean(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '').replace(/\r/g, '').replace(/[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]/g, '');
}

/** junit-report-builder writes <skipped/> without a reason; add the message attribute. */
function skippedWithReason(tc: TestCase, reason: string): void {
  tc.skipped();
  const build = tc.build.bind(tc);
  tc.build = (parent: Parameters<TestCase['build']>[0]) => {
    const element = build(parent);
    for (const child of element.children as { name?: string; att?: (k: string, v: string) => void }[]) {
      if (child.name === 'skipped') child.att!('message', clean(reason));
    }
    return element;
  };
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
  switch (step.status) {
    case 'failed':
      tc.failure(clean(`${step.message ?? 'failed'}${where}`), step.kind).stacktrace(body);
      break;
    case 'error':
      tc.error(clean(`${step.message ?? 'error'}${where}`), 'infrastructure', body);
      break;
    case 'skipped':
      skippedWithReason(tc, step.message ?? scenario.skipReason ?? 'not run');
      break;
    case 'passed':
      break;
  }
  const earlier = firstAttemptNote(scenario, step);
  const warnings = step === scenario.steps[0] ? warningsText(scenario) : undefined;
  const out = [earlier, step.excerpt, notRunAfter(scenario, step), warnings].filter((x): x is string => x !== undefined).join('\n\n');
  if (out) tc.standardOutput(clean(out));
}

/** Under the step that ended its scenario: the steps that never started because of it. */
function notRunAfter(scenario: ScenarioResult, step: StepResult): string | undefined {
  if (step.status !== 'failed' && step.status !== 'error') return undefined;
  const after = scenario.steps.slice(scenario.steps.indexOf(step) + 1).filter((s) => s.notRun);
  if (after.length === 0) return undefined;
  return [`not run after this step (${after.length}):`, ...after.map((s) => `- ${s.title}${s.where ? ` (${formatPos(s.where)})` : ''}`)].join('\n');
}

/** A retried scenario's first attempt, told on the step it errored at (or the first step). */
function firstAttemptNote(scenario: ScenarioResult, step: StepResult): string | undefined {
  const first = scenario.retriedAfter;
  if (!first) return undefined;
  const at = scenario.steps.find((s) => s.title === first.step) ?? scenario.steps[0];
  if (at !== step) return undefined;
  return `attempt 1 of 2 ended in ${first.status} here after ${seconds(first.durationMs).toFixed(1)} s and was retried on a fresh boot:\n${first.message}`;
}

export function buildJunit(result: RunResult): string {
  const builder = junit.newBuilder();
  // A shard's report says which shard it is even with no suite to carry the property (an empty shard).
  builder.name(result.properties.shard ? `xen-pvh-virtio shard ${result.properties.shard}` : 'xen-pvh-virtio');
  for (const scenario of result.scenarios) {
    const suite = builder.testSuite().name(scenario.name).timestamp(scenario.startedAt).time(seconds(scenario.durationMs));
    suite.property('scenario.file', scenario.file);
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
