// The run as Markdown: GitHub renders it as the job summary; the CLI keeps it in logs-dir.
import { formatDuration } from '../config/units.js';
import { redactCredentials } from '../secrets.js';
import { counts, type RunResult, type Span, type Status } from '../scenario/result.js';

const ICON: Record<Status, string> = { passed: '✅ passed', failed: '❌ failed', error: '💥 error', skipped: '⏭️ skipped' };

/**
 * Text from outside (scenario files, a bundle's manifest, guest output in messages) as
 * Markdown that renders as that text and nothing else: the characters that open links,
 * images, tags, entities, emphasis, code, tables, math and mentions are backslash-escaped
 * (CommonMark allows that for any ASCII punctuation), and `://` so no URL becomes a link.
 */
export function plain(text: string): string {
  return redactCredentials(text)
    .replace(/[\\`*_[\]<>&|~$@]/g, '\\$&')
    .replace(/:\/\//g, '\\://');
}

/** A code span of outside text: nothing inside one is syntax but a run of backticks as long as its fence. */
export function code(text: string): string {
  const flat = redactCredentials(text).replace(/\r?\n/g, ' ').slice(0, 300);
  const fence = '`'.repeat(Math.max(0, ...[...flat.matchAll(/`+/g)].map((m) => m[0].length)) + 1);
  const pad = flat.startsWith('`') || flat.endsWith('`') ? ' ' : '';
  return `${fence}${pad}${flat}${pad}${fence}`;
}

/** One table cell: plain text on one line, bounded. */
function cell(text: string): string {
  return plain(text.replace(/\r?\n/g, ' ').slice(0, 300));
}

function firstProblem(result: RunResult['scenarios'][number]): string {
  if (result.skipReason) return result.skipReason;
  const step = result.steps.find((s) => s.status === 'failed' || s.status === 'error');
  return step ? `${step.title}: ${step.message ?? step.status}` : '';
}

export function buildSummary(result: RunResult, paths: { junitPath: string; logsDir: string }): string {
  const shard = result.properties.shard;
  const lines: string[] = [shard ? `## xen-pvh-virtio · shard ${cell(shard)}` : '## xen-pvh-virtio', ''];
  if (shard) {
    const of = result.properties['shard.selected'];
    const ran = `${result.scenarios.length}${of ? ` of the ${cell(of)}` : ''} selected scenarios`;
    lines.push(`This job is shard ${cell(shard)} of a matrix: it ran ${ran}; the other shards run the rest (\`xen-pvh-virtio merge\` joins their reports).`, '');
  }
  lines.push(...summaryBody(result));
  lines.push(`JUnit: ${code(paths.junitPath)} · logs: ${code(paths.logsDir)}`, '');
  return lines.join('\n');
}

/** A run's summary without its heading and the paths of its reports: what a merge shows for each shard. */
export function summaryBody(result: RunResult): string[] {
  const c = counts(result);
  const lines: string[] = [];
  lines.push(`**${c.passed} passed, ${c.failed} failed, ${c.error} errored, ${c.skipped} skipped**`, '');
  if (result.fatal) lines.push(`> **${result.fatal.kind ?? (result.fatal.status === 'error' ? 'Infrastructure error' : 'Failure')}:** ${cell(result.fatal.message)}`, '');
  lines.push(...buildLines(result));
  if (result.rig) {
    const versions = Object.entries(result.rig.versions)
      .filter(([, v]) => v)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ');
    lines.push(`Rig: ${code(result.rig.provider)} ${cell(versions)} (key ${code(result.rig.key.slice(0, 16))}, ${result.rig.cacheHit ? 'from cache' : 'built'})`, '');
  }
  if (result.scenarios.length > 0) {
    lines.push('| Scenario | Status | Duration | Steps | Detail |', '| --- | --- | --- | --- | --- |');
    for (const s of result.scenarios) {
      const done = s.steps.filter((x) => x.status === 'passed').length;
      // With several systems at once, which one a scenario ran on matters to whoever reads its logs (boot-<n>/).
      const on =
        result.properties.jobs && s.systemNumber !== undefined
          ? ` (system ${s.systemNumber}${s.system === 'restored' ? ', restored' : ''})`
          : s.system === 'restored'
            ? ' (restored system)'
            : '';
      lines.push(`| ${cell(s.name)} | ${ICON[s.status]} | ${formatDuration(s.durationMs)}${on} | ${done}/${s.steps.length} | ${cell(firstProblem(s))} |`);
    }
    lines.push('');
    for (const s of result.scenarios.filter((x) => x.retriedAfter)) {
      const first = s.retriedAfter!;
      lines.push(`↻ **${cell(s.name)}** was retried once on a fresh boot: attempt 1 ended in ${first.status} at "${cell(first.step)}": ${cell(first.message)}`, '');
    }
  }
  lines.push(...warningLines(result));
  if (result.timeline.length > 0) lines.push(...timelineChart(result.timeline), '');
  if (result.phases.length > 0) {
    lines.push('| Phase | At |', '| --- | --- |');
    for (const p of result.phases) lines.push(`| ${cell(p.name)} | ${formatDuration(p.atMs)} |`);
    lines.push('');
  }
  return lines;
}

/** The builds of the trees under test: each failed one first, with its first error and its log, then a row per build. */
function buildLines(result: RunResult): string[] {
  const builds = result.builds ?? [];
  if (builds.length === 0) return [];
  const lines: string[] = [];
  for (const b of builds.filter((x) => x.status === 'failed')) {
    lines.push(`❌ **build ${cell(b.component)} failed**${b.step ? ` at ${code(b.step)}` : ''}: ${code(b.message ?? 'the build failed')}`, '');
    if (b.logFile) lines.push(`Full log: ${code(b.logFile)}; its last lines are in the JUnit report.`, '');
  }
  lines.push('| Build | Status | Duration | Detail |', '| --- | --- | --- | --- |');
  for (const b of builds) {
    const detail = b.status === 'failed' ? (b.message ?? '') : b.cached ? 'from the cache' : 'built';
    lines.push(`| ${cell(`build ${b.component}`)} | ${ICON[b.status]} | ${b.cached ? '–' : formatDuration(b.durationMs)} | ${cell(detail)} |`);
  }
  lines.push('');
  return lines;
}

/** The run's kernel and Xen warnings, each distinct line once, with the scenarios that saw it. */
function warningLines(result: RunResult): string[] {
  const seen = new Map<string, { scenarios: string[]; expected: boolean }>();
  for (const s of result.scenarios) {
    for (const w of s.warnings ?? []) {
      const key = `${w.domain}: ${w.line}`;
      const entry = seen.get(key) ?? { scenarios: [], expected: true };
      entry.scenarios.push(s.name);
      entry.expected &&= w.expected;
      seen.set(key, entry);
    }
  }
  if (seen.size === 0) return [];
  const shown = [...seen].slice(0, 10);
  return [
    `⚠️ **${seen.size} kernel or Xen warning${seen.size === 1 ? '' : 's'}** (the traces are in the JUnit and the console logs):`,
    '',
    ...shown.map(([line, e]) => `- ${code(line)}${e.expected ? ' (expected)' : ''} — ${cell(e.scenarios.join(', '))}`),
    ...(seen.size > shown.length ? [`- … and ${seen.size - shown.length} more`] : []),
    '',
  ];
}

/**
 * The run as a Mermaid gantt (GitHub renders it in job summaries), its axis the time since the
 * run started. Mermaid draws the axis in the viewer's time zone (d3's local scale and format),
 * so epoch times would come out shifted by the viewer's offset (whole hours in %H, and half an
 * hour in %M for UTC+5:30). Instead the times are local wall-clock times from midnight of a
 * fixed date, which the viewer's browser reads in its own zone: 00:00:00 is the run's start in
 * every zone, and the axis labels are elapsed time. The date is fixed rather than today (what
 * a time alone parses to) because on the day a zone changes its clocks, the change falls in
 * the small hours this chart occupies: an hour of the axis would be missing or twice, and a
 * time inside a skipped hour fails Mermaid's strict parse, so the chart would not render. On
 * CHART_DAY no zone in the IANA database changes its offset, from the day before to three
 * days after (a unit test checks this against Node's tz data), so bar lengths are real
 * durations too.
 */
export function timelineChart(timeline: readonly Span[]): string[] {
  // A zero-length stretch still gets a bar to see: a sliver of the chart, at least a tenth of a second.
  const minBar = Math.max(100, Math.max(0, ...timeline.map((s) => s.endMs)) / 300);
  const bars = timeline.map((span) => ({ span, end: Math.max(span.endMs, span.startMs + minBar) }));
  const out = ['```mermaid', 'gantt', '  title Where the run spent its time', `  dateFormat ${CHART_DATE_FORMAT}`];
  // No line for "now": today is far off this chart's day, and the line means nothing here.
  out.push(`  axisFormat ${axisFormat(Math.max(0, ...bars.map((b) => b.end)))}`, '  todayMarker off');
  let section: string | undefined;
  for (const { span, end } of bars) {
    if (span.section !== section) {
      section = span.section;
      out.push(`  section ${label(section)}`);
    }
    out.push(`  ${label(span.name)} (${formatDuration(span.endMs - span.startMs)}) : ${wallClock(span.startMs)}, ${wallClock(end)}`);
  }
  out.push('```');
  return out;
}

/** Monday 1 January 2001: a day without a clock change anywhere (see timelineChart). */
const CHART_DAY = Date.UTC(2001, 0, 1);
// Day.js tokens from Mermaid's table of input formats; its parse is strict, so the text must be exactly this shape.
const CHART_DATE_FORMAT = 'YYYY-MM-DD HH:mm:ss.SSS';

/** ms from the run's start as the chart's wall-clock text; UTC is only the arithmetic here, the viewer reads it as local. */
function wallClock(ms: number): string {
  const at = new Date(CHART_DAY + Math.max(0, Math.round(ms))).toISOString();
  return `${at.slice(0, 10)} ${at.slice(11, 23)}`;
}

/**
 * The axis labels (d3 time format) for a chart reaching `ms`: seconds while they matter,
 * milliseconds below ten seconds (where d3 puts ticks between whole seconds), hours once there
 * are any, and the day (1 for the first) past a day.
 */
function axisFormat(ms: number): string {
  if (ms < 10_000) return '%M:%S.%L';
  if (ms < 3_600_000) return '%M:%S';
  if (ms < 86_400_000) return '%H:%M';
  return 'day %-e %H:%M';
}

/**
 * A task or section name inside the Mermaid block: only characters that are neither Mermaid
 * syntax (`:` `#` `;` `%%` directives) nor able to close the fence (backticks) survive.
 */
function label(text: string): string {
  return text.replace(/[^\p{L}\p{N} ._,+=/()'-]/gu, ' ').replace(/\s+/g, ' ').trim().slice(0, 120) || '-';
}

/** One shard of a merge, as its section of the merged summary shows it. */
export interface ShardSummary {
  /** `2/4`, or empty for a run that was not sharded. */
  shard: string;
  /** The report it was read from, as the merge was given it; absent for a shard that left none. */
  source?: string;
  result: RunResult;
}

/** GitHub shows at most 1 MiB of a step's summary; the rest of a merge's is cut at a section boundary. */
export const MAX_SUMMARY_BYTES = 1000 * 1024;

/**
 * The merged matrix as one summary: the totals, a row per shard, then each shard's own summary
 * with its timeline, in shard order, as far as GitHub's size limit allows.
 */
export function buildMergedSummary(shards: readonly ShardSummary[], combined: RunResult, paths: { junitPath: string; logsDir: string }): string {
  const c = counts(combined);
  const read = shards.filter((s) => s.source !== undefined).length;
  const missing = shards.length - read;
  const head: string[] = [`## xen-pvh-virtio · ${read} shard report${read === 1 ? '' : 's'} merged${missing ? `, ${missing} missing` : ''}`, ''];
  head.push(`**${c.passed} passed, ${c.failed} failed, ${c.error} errored, ${c.skipped} skipped** in all`, '');
  if (combined.fatal) head.push(`> **${combined.fatal.kind ?? (combined.fatal.status === 'error' ? 'Infrastructure error' : 'Failure')}:** ${cell(combined.fatal.message)}`, '');
  head.push('| Shard | Passed | Failed | Errored | Skipped | Rig | Report |', '| --- | --- | --- | --- | --- | --- | --- |');
  for (const s of shards) {
    const n = counts(s.result);
    const rig = s.result.rig ? `${code(s.result.rig.provider)} ${code(s.result.rig.key.slice(0, 12))}` : '';
    const report = s.source ? code(s.source) : '💥 none';
    head.push(`| ${cell(s.shard || 'all')} | ${n.passed} | ${n.failed} | ${n.error} | ${n.skipped} | ${rig} | ${report} |`);
  }
  head.push('');
  const foot = [`JUnit: ${code(paths.junitPath)} · logs: ${code(paths.logsDir)}`, ''];

  let size = Buffer.byteLength([...head, ...foot].join('\n'));
  const sections: string[] = [];
  for (const [i, s] of shards.entries()) {
    const section = [`### ${s.shard ? `Shard ${cell(s.shard)}` : 'Run'}${s.source ? ` · ${code(s.source)}` : ''}`, '', ...summaryBody(s.result)].join('\n');
    const bytes = Buffer.byteLength(section) + 1;
    if (size + bytes > MAX_SUMMARY_BYTES - 200) {
      sections.push(`… ${shards.length - i} more shard${shards.length - i === 1 ? '' : 's'} left out to stay within GitHub's summary size; their own job summaries have them.`, '');
      break;
    }
    size += bytes;
    sections.push(section);
  }
  return [...head, ...sections, ...foot].join('\n');
}
