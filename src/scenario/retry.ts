// At most one automatic retry, for infrastructure errors only: a host hiccup (QEMU killed,
// SSH never up, no banner) should not fail a job, but a product failure is never rerun, so a
// flaky product cannot hide behind a second try. The report keeps both attempts visible.
import type { ScenarioResult, StepResult } from './result.js';

export interface RetryHooks {
  info(line: string): void;
  /** False once the run is stopping (cancel, timeout-minutes): an attempt cut short is not retried. */
  mayRetry(): boolean;
}

/** The step whose infrastructure error makes the attempt worth one more try on a fresh boot. */
export function retryableStep(result: ScenarioResult): StepResult | undefined {
  if (result.status !== 'error') return undefined;
  const step = result.steps.find((s) => s.status === 'error');
  return step?.errorKind === 'infrastructure' ? step : undefined;
}

/** Runs attempt 1 and, after an infrastructure error only, attempt 2 (which must boot afresh). */
export async function withOneRetry(
  scenario: string,
  attempt: (n: 1 | 2) => Promise<ScenarioResult>,
  hooks: RetryHooks,
): Promise<ScenarioResult> {
  const first = await attempt(1);
  const step = retryableStep(first);
  if (!step || !hooks.mayRetry()) return first;
  const message = step.message ?? 'error';
  hooks.info(`${scenario}: infrastructure error in "${step.title}" (${message.split('\n')[0]}); retrying once on a fresh boot`);
  const second = await attempt(2);
  return { ...second, retriedAfter: { status: first.status, step: step.title, message, durationMs: first.durationMs } };
}
