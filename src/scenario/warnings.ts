// A scenario's verdict on the warnings its system printed: every one is reported; with
// fail-on-warnings, one the scenario did not declare expected fails it, as the product's fault.
import type { Scenario } from '../config/types.js';
import type { SeenWarning } from '../console/index.js';
import { scenarioStatus, type ReportedWarning, type ScenarioResult } from './result.js';

export const WARNINGS_STEP = 'no unexpected kernel or Xen warnings';

export function judgeWarnings(done: ScenarioResult, seen: readonly SeenWarning[], scenario: Scenario, failOnWarnings: boolean): void {
  const expected = scenario.expectedWarnings ?? [];
  const reported: ReportedWarning[] = seen.map((w) => ({ ...w, trace: [...w.trace], expected: expected.some((re) => re.test(w.line)) }));
  if (reported.length > 0) done.warnings = reported;
  // Only a scenario that ran has a verdict to change: a skipped or errored one says why already.
  if (!failOnWarnings || done.status === 'skipped' || done.status === 'error') return;
  const unexpected = reported.filter((w) => !w.expected);
  done.steps.push({
    title: WARNINGS_STEP,
    kind: 'warnings',
    status: unexpected.length === 0 ? 'passed' : 'failed',
    durationMs: 0,
    ...(unexpected.length > 0
      ? {
          message: `${unexpected.length} unexpected warning${unexpected.length === 1 ? '' : 's'} (fail-on-warnings; declare known ones in expected-warnings):\n${unexpected.map((w) => `${w.domain}: ${w.line}`).join('\n')}`,
          excerpt: unexpected.map((w) => [`${w.domain}: ${w.line}`, ...w.trace.map((t) => `  ${t}`)].join('\n')).join('\n\n'),
        }
      : {}),
  });
  done.status = scenarioStatus(done.steps);
}
