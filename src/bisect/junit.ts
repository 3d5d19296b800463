// A bisection as JUnit (the dialect of schemas/junit.xsd): one suite "bisect <component>" with
// a test case per step (good passed, bad a failure with the scenario's message, skip skipped
// with its reason) and a last case "first bad commit" that fails naming the culprit, so that
// a red follow-up job's check points at it.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import junitModule, { type Builder, type TestCase } from 'junit-report-builder';
import { redactCredentials } from '../secrets.js';
import { short, type BisectResult, type StepRecord } from './result.js';
import { verdictLine } from './summary.js';

// CommonJS: at run time the default import is the builder itself (as src/report/junit.ts reads it).
const junit = junitModule as unknown as Builder;

/** What XML 1.0 can carry, on the texts git and the runs give us (subjects, messages). */
function clean(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '').replace(/[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufffe\uffff]/g, '').replaceAll(']]>', ']] >');
}

/** A skipped case with its reason: the library's skipped() takes none, so it goes onto the element it builds. */
function skippedWith(tc: TestCase, message: string): void {
  tc.skipped();
  const build = tc.build.bind(tc);
  tc.build = (parent: Parameters<TestCase['build']>[0]) => {
    const element = build(parent);
    for (const child of element.children as { name?: string; att(name: string, value: string): unknown }[]) {
      if (child.name === 'skipped') child.att('message', clean(message));
    }
    return element;
  };
}

function addStep(tc: TestCase, component: string, s: StepRecord): void {
  tc.className(`xen-pvh-virtio.bisect.${component}`).name(clean(`step ${s.n} (${s.role}): ${short(s.commit.id)} ${s.commit.subject}`)).time(s.durationMs / 1000);
  if (s.verdict === 'bad') tc.failure(clean(s.reason ?? 'the scenarios failed'), 'product');
  if (s.verdict === 'skip') skippedWith(tc, s.reason ?? 'skipped');
  tc.standardOutput(clean([`commit ${s.commit.id}`, `author ${s.commit.author}, ${s.commit.date}`, ...(s.log ? [`log ${s.log}`] : [])].join('\n')));
}

export function bisectJunit(r: BisectResult): string {
  const builder = junit.newBuilder();
  builder.name(`xen-pvh-virtio bisect ${r.component}`);
  const suite = builder.testSuite().name(`bisect ${r.component}`).timestamp(r.startedAt).time(r.durationMs / 1000);
  suite.property('bisect.component', r.component).property('bisect.repository', r.repo);
  suite.property('bisect.good', r.good.id).property('bisect.bad', r.bad.id).property('bisect.commits', String(r.commits));
  suite.property('bisect.scenarios', clean(r.scenarios.replace(/\n/g, ' '))).property('bisect.verdict', r.verdict.kind);
  if (r.verdict.kind === 'culprit') suite.property('bisect.culprit', r.verdict.culprit.id);
  for (const s of r.steps) addStep(suite.testCase(), r.component, s);

  const last = suite.testCase().className(`xen-pvh-virtio.bisect.${r.component}`).name('first bad commit').time(0);
  const v = r.verdict;
  const line = clean(verdictLine(r));
  switch (v.kind) {
    case 'culprit':
      last.failure(clean(`first bad commit: ${v.culprit.id} ${v.culprit.subject} (${v.culprit.author}, ${v.culprit.date})`), 'bisect');
      break;
    case 'inconclusive':
    case 'fails-on-good':
      last.failure(line, 'bisect');
      break;
    case 'passes-on-bad':
      skippedWith(last, line);
      break;
    case 'untestable':
      last.error(line, 'infrastructure');
      break;
    case 'stopped':
      last.error(line, v.cause === 'input' ? 'configuration' : 'infrastructure');
      break;
  }
  // A repository URL may carry a token; git's messages may quote it.
  return redactCredentials(builder.build());
}

export function writeBisectJunit(r: BisectResult, path: string): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, bisectJunit(r));
}
