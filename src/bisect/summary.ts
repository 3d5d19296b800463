// A bisection told to people: bisect.md (also the job summary, verdict first so that the
// culprit heads the page), the verdict as the CLI prints it, and the workflow step's outputs.
import { relative } from 'node:path';
import { formatDuration } from '../config/units.js';
import { code, plain } from '../report/summary.js';
import { short, type BisectResult, type CommitInfo, type StepVerdict, type Verdict } from './result.js';

const ICON: Record<StepVerdict, string> = { good: '✅ good', bad: '❌ bad', skip: '⏭️ skip' };

/** One table cell: plain text on one line, bounded. */
const cell = (text: string) => plain(text.replace(/\r?\n/g, ' ').slice(0, 300));

/** The verdict in one line (the heading, the JUnit case, the log). */
export function verdictLine(r: Pick<BisectResult, 'verdict' | 'good' | 'bad'>): string {
  const v = r.verdict;
  switch (v.kind) {
    case 'culprit':
      return `first bad commit: ${v.culprit.id} ${v.culprit.subject}`;
    case 'inconclusive':
      return `inconclusive: only skipped commits are left, and the first bad commit is one of ${v.candidates.length}: ${v.candidates.map((c) => short(c.id)).join(', ')}`;
    case 'passes-on-bad':
      return `the scenarios pass on bad ${r.bad.id}: nothing to bisect`;
    case 'fails-on-good':
      return `the scenarios fail on good ${r.good.id} too: no regression between good and bad to bisect`;
    case 'untestable':
      return `cannot bisect: the ${v.end} end ${(v.end === 'good' ? r.good : r.bad).id} could not be tested: ${v.reason}`;
    case 'stopped':
      return `bisect stopped: ${v.reason}`;
  }
}

const who = (c: CommitInfo) => `${c.author}, ${c.date}`;

/** The verdict as the CLI prints it at the end. */
export function verdictText(r: BisectResult): string {
  const v = r.verdict;
  if (v.kind === 'culprit') return `first bad commit: ${v.culprit.id}\n    ${v.culprit.subject}\n    author: ${who(v.culprit)}\n`;
  if (v.kind === 'inconclusive') {
    return `inconclusive: only skipped commits are left; the first bad commit is one of:\n${v.candidates.map((c) => `    ${c.id} ${c.subject} (${who(c)})\n`).join('')}`;
  }
  return `${verdictLine(r)}\n`;
}

function heading(r: BisectResult): string {
  const v: Verdict = r.verdict;
  const what = `xen-pvh-virtio bisect ${r.component}`;
  switch (v.kind) {
    case 'culprit':
      return `## ${what}: first bad commit ${code(short(v.culprit.id))} ${cell(v.culprit.subject)}`;
    case 'inconclusive':
      return `## ${what}: inconclusive, the first bad commit is one of ${v.candidates.length}`;
    case 'passes-on-bad':
      return `## ${what}: the scenarios pass on bad ${code(short(r.bad.id))}, nothing to bisect`;
    case 'fails-on-good':
      return `## ${what}: the scenarios fail on good ${code(short(r.good.id))} too, nothing to bisect`;
    case 'untestable':
      return `## ${what}: the ${v.end} end could not be tested`;
    case 'stopped':
      return `## ${what}: stopped`;
  }
}

function commitBlock(c: CommitInfo): string[] {
  return [`> **${code(c.id)}** ${cell(c.subject)}  `, `> ${cell(who(c))}`, ''];
}

export function bisectMarkdown(r: BisectResult, paths: { junitPath: string; logsDir: string }): string {
  const v = r.verdict;
  const lines = [heading(r), ''];
  if (v.kind === 'culprit') lines.push(...commitBlock(v.culprit));
  if (v.kind === 'inconclusive') {
    lines.push('Only commits that could not be tested are left (see the skips below); the first bad commit is one of:', '');
    for (const c of v.candidates) lines.push(`- ${code(c.id)} ${cell(c.subject)} (${cell(who(c))})`);
    lines.push('');
  }
  if (v.kind === 'untestable' || v.kind === 'stopped') lines.push(`> ${cell(v.reason)}`, '');
  const atBad = r.steps.find((s) => s.role === 'bad end');
  lines.push(
    `Scenarios ${code(r.scenarios.replace(/\n/g, ' '))} on ${r.component} from ${code(r.repo)}: good ${code(short(r.good.id))}, bad ${code(short(r.bad.id))}` +
      `${atBad?.verdict === 'bad' && atBad.reason ? ` (${cell(atBad.reason)})` : ''}; ${r.commits} commit${r.commits === 1 ? '' : 's'} after good up to bad; ` +
      `${r.steps.length} step${r.steps.length === 1 ? '' : 's'} in ${formatDuration(r.durationMs)}.`,
    '',
  );
  if (r.steps.length > 0) {
    lines.push('| Step | Commit | Subject | Verdict | Reason | Duration | Log |', '| --- | --- | --- | --- | --- | --- | --- |');
    for (const s of r.steps) {
      const log = s.log ? code(relative(paths.logsDir, s.log)) : '';
      lines.push(`| ${s.n} (${s.role}) | ${code(short(s.commit.id))} | ${cell(s.commit.subject)} | ${ICON[s.verdict]} | ${cell(s.reason ?? '')} | ${formatDuration(s.durationMs)} | ${log} |`);
    }
    lines.push('');
  }
  lines.push(`JUnit: ${code(paths.junitPath)} · logs: ${code(paths.logsDir)}`, '');
  return lines.join('\n');
}

/** The step's outputs in a workflow: what a later job or step reads. */
export function bisectOutputs(r: BisectResult): Record<string, string> {
  const v = r.verdict;
  return {
    verdict: v.kind,
    culprit: v.kind === 'culprit' ? v.culprit.id : '',
    'culprit-subject': v.kind === 'culprit' ? v.culprit.subject : '',
    candidates: v.kind === 'inconclusive' ? v.candidates.map((c) => c.id).join(' ') : '',
  };
}
