// `ssh`: run a command in dom0 over SSH and check its output and exit status, or leave it
// running in the background for the rest of the scenario.
import { z } from 'zod';
import { ProductFailure } from '../errors.js';
import { checkOutput } from './check.js';
import type { ScenarioDrivers } from './drivers.js';
import { closed, commonStepFields, got, outputChecks, outputChecksOf, text } from './fields.js';
import { defineStepKind, type StepBase } from './kind.js';

export interface SshStep extends StepBase {
  kind: 'ssh';
  run: string;
  expect?: RegExp;
  expectNot?: RegExp;
  /** Keep it running in the background for the rest of the scenario. */
  background: boolean;
}

export const sshStep = defineStepKind({
  name: 'ssh',
  schema: closed({
    run: text('a command line'),
    ...outputChecks,
    background: z.boolean({ error: (issue) => `expected true or false, got ${got(issue.input)}` }).optional(),
    ...commonStepFields,
  }),
  parse(s, at): SshStep {
    return {
      kind: 'ssh',
      run: s.run,
      ...outputChecksOf(s),
      background: s.background ?? false,
      timeoutMs: at.timeoutMs(s.timeout),
      where: at.where,
      title: s.title ?? `ssh dom0: ${s.run}`,
    };
  },
  async run(step, drivers: Pick<ScenarioDrivers, 'dom0'>) {
    const ssh = await drivers.dom0(step.timeoutMs);
    if (step.background) {
      const { logFile } = await ssh.background(step.title, step.run);
      return { excerpt: `started in the background; output in ${logFile}` };
    }
    const r = await ssh.run(step.run, step.timeoutMs);
    const excerpt = `dom0$ ${step.run}\n${r.stdout}${r.stderr ? `\n[stderr]\n${r.stderr}` : ''}\n(exit status ${r.exitCode})`;
    checkOutput(r.stdout, step, excerpt);
    if (r.exitCode !== 0) throw new ProductFailure(`\`${step.run}\` in dom0 exited with status ${r.exitCode}`, { consoleTail: excerpt });
    return { excerpt, ...(r.profile ? { profile: r.profile } : {}) };
  },
  changesSystem: false,
  needs: ['ssh'],
});
