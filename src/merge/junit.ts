// JUnit reports read back: the dialect src/report/junit.ts writes (schemas/junit.xsd), parsed
// into suites that a merge writes out again unchanged, and into a RunResult for the merged
// summary and the exit code when a shard left no result.json. Anything outside the dialect is
// an error naming the file and the line: a merged report must validate, and a half-understood
// shard would be miscounted.
import { ConfigError } from '../errors.js';
import { readShard, type ShardSpec } from '../config/shard.js';
import { scenarioStatus, type BuildResult, type ReportedWarning, type RunResult, type ScenarioResult, type Status, type StepResult } from '../scenario/result.js';
import { BUILD_SUITE_PROPERTY } from '../report/junit.js';
import { escapeAttr, escapeText, lineAt, parseXml, textOf, XmlError, type XmlElement } from './xml.js';

export type Outcome = 'failure' | 'error' | 'skipped';

export interface JunitCase {
  name: string;
  classname: string;
  /** Seconds, as written. */
  time: string;
  outcome?: { element: Outcome; message?: string; type?: string; text: string };
  systemOut?: string;
  systemErr?: string;
}

export interface JunitSuite {
  name: string;
  time?: string;
  timestamp?: string;
  properties: [string, string][];
  cases: JunitCase[];
  systemOut?: string;
  systemErr?: string;
}

export interface JunitReport {
  /** The root's name attribute (a shard's report names its shard there). */
  name?: string;
  suites: JunitSuite[];
}

const SECONDS = /^[0-9]+(\.[0-9]+)?$/;
// xs:dateTime's lexical form: what the schema accepts in `timestamp`.
const DATE_TIME = /^-?[0-9]{4,}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?(Z|[+-][0-9]{2}:[0-9]{2})?$/;

/** Whether the text looks like a JUnit report at all (its root element), before it is read in full. */
export function looksLikeJunit(xml: string): boolean {
  // A DOCTYPE is skipped here so that such a report is refused by name rather than passed over.
  return /^(\ufeff)?\s*(<\?xml[^>]*\?>\s*)?(<!--[\s\S]*?-->\s*|<!DOCTYPE[^[>]*(\[[\s\S]*?\])?\s*>\s*)*<testsuites?[\s>/]/.test(xml.slice(0, 64 * 1024));
}

/** Reads a report; a ConfigError names `shownAs`, the line and what is wrong. */
export function readJunit(xml: string, shownAs: string): JunitReport {
  let root: XmlElement;
  try {
    root = parseXml(xml);
  } catch (e) {
    if (e instanceof XmlError) throw new ConfigError(`${shownAs}: not well-formed XML: ${e.message}`);
    throw e;
  }
  const fail = (el: XmlElement, message: string): never => {
    throw new ConfigError(`${shownAs}: line ${lineAt(xml, el.at)}: not a JUnit report in the dialect this harness writes: ${message}`);
  };
  const elements = (el: XmlElement): XmlElement[] => {
    for (const c of el.children) if (typeof c === 'string' && c.trim() !== '') fail(el, `text directly inside <${el.name}>`);
    return el.children.filter((c): c is XmlElement => typeof c !== 'string');
  };
  const leaf = (el: XmlElement): string => {
    if (el.children.some((c) => typeof c !== 'string')) fail(el, `an element inside <${el.name}>`);
    return textOf(el);
  };
  const seconds = (el: XmlElement, required: boolean): string | undefined => {
    const t = el.attrs.get('time');
    if (t === undefined) return required ? fail(el, `<${el.name}> has no time`) : undefined;
    if (!SECONDS.test(t)) fail(el, `time="${t}" is not a number of seconds`);
    return t;
  };

  const suite = (el: XmlElement): JunitSuite => {
    const name = el.attrs.get('name') ?? fail(el, '<testsuite> has no name');
    const timestamp = el.attrs.get('timestamp');
    if (timestamp !== undefined && !DATE_TIME.test(timestamp)) fail(el, `timestamp="${timestamp}" is not a date and time`);
    const time = seconds(el, false);
    const out: JunitSuite = { name, properties: [], cases: [], ...(time !== undefined ? { time } : {}), ...(timestamp !== undefined ? { timestamp } : {}) };
    for (const child of elements(el)) {
      switch (child.name) {
        case 'properties':
          for (const p of elements(child)) {
            if (p.name !== 'property') fail(p, `<${p.name}> inside <properties>`);
            const pname = p.attrs.get('name') ?? fail(p, '<property> has no name');
            out.properties.push([pname, p.attrs.get('value') ?? leaf(p)]);
          }
          break;
        case 'testcase':
          out.cases.push(testcase(child));
          break;
        case 'system-out':
          out.systemOut = leaf(child);
          break;
        case 'system-err':
          out.systemErr = leaf(child);
          break;
        default:
          fail(child, `<${child.name}> inside <testsuite>`);
      }
    }
    return out;
  };

  const testcase = (el: XmlElement): JunitCase => {
    const name = el.attrs.get('name') ?? fail(el, '<testcase> has no name');
    const out: JunitCase = { name, classname: el.attrs.get('classname') ?? fail(el, '<testcase> has no classname'), time: seconds(el, true)! };
    for (const child of elements(el)) {
      if (child.name === 'failure' || child.name === 'error' || child.name === 'skipped') {
        if (out.outcome) fail(child, `<testcase name="${name}"> has more than one outcome`);
        const message = child.attrs.get('message');
        const type = child.attrs.get('type');
        out.outcome = { element: child.name, text: leaf(child), ...(message !== undefined ? { message } : {}), ...(type !== undefined ? { type } : {}) };
      } else if (child.name === 'system-out') out.systemOut = leaf(child);
      else if (child.name === 'system-err') out.systemErr = leaf(child);
      // A retried scenario's first attempt in Surefire's elements: passed over, as the suite's
      // retry.<scenario> property (kept) and the case's <system-out> tell it too.
      else if (child.name !== 'flakyError' && child.name !== 'rerunError') fail(child, `<${child.name}> inside <testcase>`);
    }
    return out;
  };

  if (root.name === 'testsuite') return { suites: [suite(root)] };
  if (root.name !== 'testsuites') fail(root, `the root is <${root.name}>, not <testsuites>`);
  const suites = elements(root).map((el) => (el.name === 'testsuite' ? suite(el) : fail(el, `<${el.name}> inside <testsuites>`)));
  const name = root.attrs.get('name');
  return { suites, ...(name !== undefined ? { name } : {}) };
}

const count = (cases: readonly JunitCase[], outcome: Outcome) => cases.filter((c) => c.outcome?.element === outcome).length;
const sumSeconds = (times: readonly string[]) => times.reduce((n, t) => n + Number(t), 0).toFixed(3);

/**
 * Suites as one report. Every count is recounted from the test cases, so the totals are
 * right whatever a shard's file claimed.
 */
export function writeJunitXml(name: string, suites: readonly JunitSuite[]): string {
  const out: string[] = ['<?xml version="1.0" encoding="UTF-8"?>'];
  const cases = suites.flatMap((s) => s.cases);
  const suiteTime = (s: JunitSuite) => s.time ?? sumSeconds(s.cases.map((c) => c.time));
  const attrs = (pairs: [string, string | number | undefined][]) =>
    pairs
      .filter(([, v]) => v !== undefined)
      .map(([k, v]) => ` ${k}="${escapeAttr(String(v))}"`)
      .join('');
  out.push(
    `<testsuites${attrs([
      ['name', name],
      ['tests', cases.length],
      ['failures', count(cases, 'failure')],
      ['errors', count(cases, 'error')],
      ['skipped', count(cases, 'skipped')],
      ['time', sumSeconds(suites.map(suiteTime))],
    ])}>`,
  );
  for (const s of suites) {
    out.push(
      `  <testsuite${attrs([
        ['name', s.name],
        ['tests', s.cases.length],
        ['failures', count(s.cases, 'failure')],
        ['errors', count(s.cases, 'error')],
        ['skipped', count(s.cases, 'skipped')],
        ['time', suiteTime(s)],
        ['timestamp', s.timestamp],
      ])}>`,
    );
    if (s.properties.length > 0) {
      out.push('    <properties>');
      for (const [n, v] of s.properties) out.push(`      <property${attrs([['name', n], ['value', v]])}/>`);
      out.push('    </properties>');
    }
    for (const c of s.cases) {
      const head = `    <testcase${attrs([['classname', c.classname], ['name', c.name], ['time', c.time]])}`;
      const body: string[] = [];
      if (c.outcome) body.push(`      <${c.outcome.element}${attrs([['message', c.outcome.message], ['type', c.outcome.type]])}>${escapeText(c.outcome.text)}</${c.outcome.element}>`);
      if (c.systemOut !== undefined) body.push(`      <system-out>${escapeText(c.systemOut)}</system-out>`);
      if (c.systemErr !== undefined) body.push(`      <system-err>${escapeText(c.systemErr)}</system-err>`);
      out.push(...(body.length ? [`${head}>`, ...body, '    </testcase>'] : [`${head}/>`]));
    }
    if (s.systemOut !== undefined) out.push(`    <system-out>${escapeText(s.systemOut)}</system-out>`);
    if (s.systemErr !== undefined) out.push(`    <system-err>${escapeText(s.systemErr)}</system-err>`);
    out.push('  </testsuite>');
  }
  out.push('</testsuites>', '');
  return out.join('\n');
}

/** The shard a report says it is: the `shard` property of its suites, else its root's name (an empty shard has no suite). */
export function shardOfJunit(report: JunitReport): ShardSpec | undefined {
  const property = report.suites[0]?.properties.find(([n]) => n === 'shard')?.[1];
  return readShard(property) ?? readShard(/^xen-pvh-virtio shard (\S+)$/.exec(report.name ?? '')?.[1]);
}

// Properties src/report/junit.ts derives from one scenario, or from the run's structured
// fields; the rest are the run's own properties, repeated on every suite.
const OF_SCENARIO = /^(scenario\.file|skipped\.reason|system|warnings|warnings\.unexpected|warning\.\d+|retry\..*|rig\.builds)$/;
const RIG = /^rig\.(key|provider|cache-hit|version\..+)$/;
const SPAN = /^(\d+(?:\.\d+)?)s\.\.(\d+(?:\.\d+)?)s$/;
const AT = /^(\d+(?:\.\d+)?)s$/;

/**
 * The run a report describes, as far as JUnit tells it: scenarios with their steps, statuses,
 * durations, retries and warnings, the rig, phases and the timeline (from the `phase.` and
 * `span.` properties), and the builds of the trees under test (the "rig build" suite). A
 * run-level failure is not in JUnit; the scenarios it errored or skipped are.
 */
export function runFromJunit(report: JunitReport): RunResult {
  const first = new Map(report.suites[0]?.properties ?? []);
  const isBuilds = (s: JunitSuite) => s.properties.some(([n]) => n === BUILD_SUITE_PROPERTY);
  const result: RunResult = { scenarios: report.suites.filter((s) => !isBuilds(s)).map(scenarioFromSuite), phases: [], timeline: [], properties: {} };
  const builds = report.suites.filter(isBuilds).flatMap((s) => s.cases.map(buildFromCase));
  if (builds.length > 0) result.builds = builds;
  for (const [name, value] of first) {
    if (OF_SCENARIO.test(name) || RIG.test(name)) continue;
    const span = name.startsWith('span.') ? SPAN.exec(value) : null;
    const at = name.startsWith('phase.') ? AT.exec(value) : null;
    const rest = name.slice(name.indexOf('.') + 1);
    if (span && rest.includes('.')) {
      const dot = rest.indexOf('.');
      result.timeline.push({ section: rest.slice(0, dot), name: rest.slice(dot + 1), startMs: Number(span[1]) * 1000, endMs: Number(span[2]) * 1000 });
    } else if (at) result.phases.push({ name: rest, atMs: Number(at[1]) * 1000 });
    else result.properties[name] = value;
  }
  const key = first.get('rig.key');
  if (key !== undefined) {
    const versions: Record<string, string> = {};
    for (const [name, value] of first) if (name.startsWith('rig.version.')) versions[name.slice('rig.version.'.length)] = value;
    result.rig = { key, provider: first.get('rig.provider') ?? '', versions, cacheHit: first.get('rig.cache-hit') === 'true' };
  }
  const shard = shardOfJunit(report);
  if (shard && result.properties.shard === undefined) result.properties.shard = `${shard.index}/${shard.count}`;
  return result;
}

const STATUS_OF: Record<Outcome, Status> = { failure: 'failed', error: 'error', skipped: 'skipped' };

/** A build's test case as src/report/junit.ts writes it: "build <component>", the step and log in its system-out. */
function buildFromCase(c: JunitCase): BuildResult {
  const out = c.systemOut ?? '';
  const failed = c.outcome !== undefined;
  const step = /^step: (.*)$/m.exec(out)?.[1];
  const logFile = /^log: (.*)$/m.exec(out)?.[1];
  return {
    component: c.name.replace(/^build /, ''),
    status: failed ? 'failed' : 'passed',
    cached: !failed && out.startsWith('cache hit'),
    durationMs: Number(c.time) * 1000,
    ...(failed && c.outcome?.message !== undefined ? { message: c.outcome.message } : {}),
    ...(failed && c.outcome?.text ? { excerpt: c.outcome.text } : {}),
    ...(logFile !== undefined ? { logFile } : {}),
    ...(step !== undefined ? { step } : {}),
  };
}

function scenarioFromSuite(suite: JunitSuite): ScenarioResult {
  const props = new Map(suite.properties);
  const steps: StepResult[] = suite.cases.map((c) => {
    const status = c.outcome ? STATUS_OF[c.outcome.element] : 'passed';
    const message = c.outcome?.message ?? (c.outcome?.text || undefined);
    return {
      title: c.name,
      kind: c.outcome?.element === 'failure' && c.outcome.type ? c.outcome.type : 'step',
      status,
      durationMs: Number(c.time) * 1000,
      ...(message !== undefined ? { message } : {}),
      ...(c.systemOut ? { excerpt: c.systemOut } : {}),
    };
  });
  const started = suite.timestamp ? new Date(suite.timestamp) : undefined;
  const out: ScenarioResult = {
    name: suite.name,
    file: props.get('scenario.file') ?? '',
    status: scenarioStatus(steps),
    startedAt: started && !Number.isNaN(started.getTime()) ? started : new Date(0),
    durationMs: Number(suite.time ?? sumSeconds(suite.cases.map((c) => c.time))) * 1000,
    steps,
  };
  const skipReason = props.get('skipped.reason');
  if (skipReason !== undefined) {
    out.skipReason = skipReason;
    // A skipped scenario without steps has no test case to say so.
    if (steps.every((s) => s.status === 'skipped')) out.status = 'skipped';
  }
  const system = props.get('system');
  if (system === 'booted' || system === 'restored') out.system = system;
  const retry = /^2 attempts; attempt 1: (passed|failed|error|skipped) in "(.*)": (.*)$/s.exec(props.get(`retry.${suite.name}`) ?? '');
  if (retry) out.retriedAfter = { status: retry[1] as Status, step: retry[2]!, message: retry[3]!, durationMs: 0 };
  const warnings: ReportedWarning[] = [];
  for (const [name, value] of suite.properties) {
    if (!/^warning\.\d+$/.test(name)) continue;
    const expected = value.endsWith(' [expected]');
    const text = expected ? value.slice(0, -' [expected]'.length) : value;
    const colon = text.indexOf(': ');
    warnings.push({ domain: colon > 0 ? text.slice(0, colon) : '', line: colon > 0 ? text.slice(colon + 2) : text, trace: [], expected });
  }
  if (warnings.length) out.warnings = warnings;
  return out;
}
