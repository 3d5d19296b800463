// `wait`: for a console to show a shell prompt or a pattern. There is no sleep step: every
// wait is for a condition, with a deadline.
import { performance } from 'node:perf_hooks';
import { z } from 'zod';
import { compileUserPattern } from '../config/user-pattern.js';
import { ConfigError } from '../errors.js';
import type { ScenarioDrivers } from './drivers.js';
import { closed, commonStepFields, consoleName, got } from './fields.js';
import { defineStepKind, type ConsoleTarget, type StepBase } from './kind.js';

export interface WaitStep extends StepBase {
  kind: 'wait';
  console: ConsoleTarget;
  for: { shell: true } | { pattern: RegExp };
}

export const waitStep = defineStepKind({
  name: 'wait',
  schema: closed({
    console: consoleName,
    for: z
      .string({ error: (issue) => `expected "shell" or a regular expression, got ${got(issue.input)}` })
      .min(1)
      .meta({ description: '"shell" waits for the domain\'s shell; anything else is a regular expression to wait for.' }),
    ...commonStepFields,
  }),
  parse(s, at): WaitStep {
    at.requireDeclared(s.console, 'console');
    const forShell = s.for === 'shell';
    let waitFor: WaitStep['for'];
    if (forShell) waitFor = { shell: true };
    else {
      // Compiled here, not by the schema: "shell" is a word, not a pattern.
      try {
        waitFor = { pattern: compileUserPattern(s.for) };
      } catch (e) {
        const why = e instanceof SyntaxError ? `expected "shell" or a regular expression: ${e.message}` : (e as Error).message;
        throw new ConfigError(`for: ${why}`, at.pos('for'));
      }
    }
    return {
      kind: 'wait',
      console: s.console,
      for: waitFor,
      timeoutMs: at.timeoutMs(s.timeout),
      where: at.where,
      title: s.title ?? `wait for ${forShell ? 'shell' : `/${s.for}/`} on ${s.console}`,
    };
  },
  async run(step, drivers: Pick<ScenarioDrivers, 'console'>, hooks) {
    // All of a wait is the guest's: nothing is typed (a login's name aside).
    const started = performance.now();
    if ('shell' in step.for) {
      const ready = await drivers.console.waitForShell(step.console, step.timeoutMs);
      hooks.phase?.(`${step.console} shell`, ready.at);
      return { excerpt: drivers.console.tail(step.console, 10), profile: { guestMs: performance.now() - started } };
    }
    const line = await drivers.console.expect(step.console, step.for.pattern, step.timeoutMs);
    return { excerpt: line.text, profile: { guestMs: performance.now() - started } };
  },
  changesSystem: false,
  needs: [],
});
