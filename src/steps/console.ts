// `console`: type a command on a domain's console (through Xen's focus switching) and check
// its output and exit status.
import { ProductFailure } from '../errors.js';
import { checkOutput } from './check.js';
import type { ScenarioDrivers } from './drivers.js';
import { closed, commonStepFields, consoleName, outputChecks, outputChecksOf, text } from './fields.js';
import { defineStepKind, type ConsoleTarget, type StepBase } from './kind.js';

export interface ConsoleStep extends StepBase {
  kind: 'console';
  domain: ConsoleTarget;
  run: string;
  expect?: RegExp;
  expectNot?: RegExp;
}

export const consoleStep = defineStepKind({
  name: 'console',
  schema: closed({
    domain: consoleName,
    run: text('a command line'),
    ...outputChecks,
    ...commonStepFields,
  }),
  parse(s, at): ConsoleStep {
    at.requireDeclared(s.domain, 'domain');
    return {
      kind: 'console',
      domain: s.domain,
      run: s.run,
      ...outputChecksOf(s),
      timeoutMs: at.timeoutMs(s.timeout),
      where: at.where,
      title: s.title ?? `${s.domain}: ${s.run}`,
    };
  },
  async run(step, drivers: Pick<ScenarioDrivers, 'console'>) {
    const r = await drivers.console.run(step.domain, step.run, step.timeoutMs);
    const output = r.output.join('\n');
    const excerpt = `${step.domain}# ${step.run}\n${output}\n(exit status ${r.exitStatus})`;
    checkOutput(output, step, excerpt);
    if (r.exitStatus !== 0) throw new ProductFailure(`\`${step.run}\` on ${step.domain} exited with status ${r.exitStatus}`, { consoleTail: excerpt });
    return { excerpt, ...(r.profile ? { profile: r.profile } : {}) };
  },
  changesSystem: false,
  needs: [],
});
