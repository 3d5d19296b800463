// Runs one scenario's steps, in order, against the drivers of a booted machine. A step
// only talks to the small protocols below; it never reaches into a socket or a process.
import type { Scenario, Step } from '../config/types.js';
import { formatDuration } from '../config/units.js';
import { ConfigError, InfraError, ProductFailure } from '../errors.js';
import { checkOutput } from './check.js';
import { scenarioStatus, type ErrorKind, type ScenarioResult, type Status, type StepResult } from './result.js';

export interface ConsoleProtocol {
  /** Resolves when the domain's shell is ready; `at` is when it was seen (epoch ms). */
  waitForShell(domain: string, deadlineMs: number): Promise<{ at: number }>;
  expect(domain: string, pattern: RegExp, deadlineMs: number): Promise<{ text: string }>;
  run(domain: string, command: string, deadlineMs: number): Promise<{ output: string[]; exitStatus: number }>;
  tail(domain: string, lines?: number): string;
}

export interface CommandResult {
  exitCode: number | null;
  stdout: string;
  stderr: string;
}

export interface CommandProtocol {
  run(command: string, deadlineMs: number): Promise<CommandResult>;
  /** Starts a long-lived command; its output goes to its own log; death fails the scenario. */
  background(name: string, command: string): Promise<{ logFile: string }>;
}

export interface BackendProtocol {
  /** Starts the device model for a domU and resolves once it demonstrably serves it. */
  start(step: Extract<Step, { kind: 'backend' }>, deadlineMs: number): Promise<{ evidence: string }>;
  /** Stops the domU's device model and resolves once it has exited. */
  stop(domain: string, deadlineMs: number): Promise<{ evidence: string }>;
}

export interface ScenarioDrivers {
  console: ConsoleProtocol;
  /** SSH to dom0, connected on first use (it retries until sshd answers, within the step's deadline). */
  dom0(deadlineMs: number): Promise<CommandProtocol>;
  backend?: BackendProtocol;
  /** A background process of this scenario died: the failure it should end with. */
  takeDeath?(): Error | undefined;
  /**
   * Resolves when a background process of this scenario dies (it stays for takeDeath): a step
   * waiting on something else is cut short at once instead of at its own deadline.
   */
  whenDead?(): Promise<Error>;
  /**
   * After a failed or errored step, collects evidence from the still-running system within a
   * fixed budget; resolves with where it went (relative to the logs dir). Never turns a result.
   */
  forensics?(): Promise<string>;
  /** Stops what the scenario started in dom0 (backends, background commands). */
  cleanup?(): Promise<void>;
}

export interface RunnerHooks {
  progress(line: string): void;
  /** A wait step saw something worth a timeline entry (e.g. "domU1 shell"), at epoch ms. */
  phase?(name: string, at?: number): void;
}

/** What a step observed, for <system-out>. */
type StepOutcome = { excerpt: string };

async function runStep(step: Step, drivers: ScenarioDrivers, hooks: RunnerHooks): Promise<StepOutcome> {
  switch (step.kind) {
    case 'wait': {
      if ('shell' in step.for) {
        const ready = await drivers.console.waitForShell(step.console, step.timeoutMs);
        hooks.phase?.(`${step.console} shell`, ready.at);
        return { excerpt: drivers.console.tail(step.console, 10) };
      }
      const line = await drivers.console.expect(step.console, step.for.pattern, step.timeoutMs);
      return { excerpt: line.text };
    }
    case 'console': {
      const r = await drivers.console.run(step.domain, step.run, step.timeoutMs);
      const output = r.output.join('\n');
      const excerpt = `${step.domain}# ${step.run}\n${output}\n(exit status ${r.exitStatus})`;
      checkOutput(output, step, excerpt);
      if (r.exitStatus !== 0) throw new ProductFailure(`\`${step.run}\` on ${step.domain} exited with status ${r.exitStatus}`, { consoleTail: excerpt });
      return { excerpt };
    }
    case 'ssh': {
      const ssh = await drivers.dom0(step.timeoutMs);
      if (step.background) {
        const { logFile } = await ssh.background(step.title, step.run);
        return { excerpt: `started in the background; output in ${logFile}` };
      }
      const r = await ssh.run(step.run, step.timeoutMs);
      const excerpt = `dom0$ ${step.run}\n${r.stdout}${r.stderr ? `\n[stderr]\n${r.stderr}` : ''}\n(exit status ${r.exitCode})`;
      checkOutput(r.stdout, step, excerpt);
      if (r.exitCode !== 0) throw new ProductFailure(`\`${step.run}\` in dom0 exited with status ${r.exitCode}`, { consoleTail: excerpt });
      return { excerpt };
    }
    case 'backend': {
      if (!drivers.backend) throw new InfraError('this run has no backend driver: the rig lacks the backend stack');
      const { evidence } = step.action === 'stop' ? await drivers.backend.stop(step.domain, step.timeoutMs) : await drivers.backend.start(step, step.timeoutMs);
      return { excerpt: evidence };
    }
  }
}

/** Product failures fail the scenario; anything else is the harness's or the host's error. */
function classify(e: unknown): Status {
  return e instanceof ProductFailure ? 'failed' : 'error';
}

export function errorKind(e: unknown): ErrorKind {
  if (e instanceof ConfigError) return 'configuration';
  return e instanceof InfraError ? 'infrastructure' : 'internal';
}

/**
 * Runs a step, or ends it early with the death of a background process (a backend crash).
 * The abandoned step settles on its own deadline or when the session closes; nobody awaits it.
 */
async function stepOrDeath(step: Step, drivers: ScenarioDrivers, hooks: RunnerHooks): Promise<StepOutcome> {
  const running = runStep(step, drivers, hooks);
  const dead = drivers.whenDead?.();
  if (!dead) return running;
  running.catch(() => undefined);
  return Promise.race([running, dead.then((e) => Promise.reject(e))]);
}

function excerptOf(e: unknown): string | undefined {
  if (e instanceof ProductFailure || e instanceof InfraError) return e.detail.consoleTail;
  return undefined;
}

export async function runScenario(scenario: Scenario, drivers: ScenarioDrivers, hooks: RunnerHooks): Promise<ScenarioResult> {
  const startedAt = new Date();
  const t0 = Date.now();
  const steps: StepResult[] = [];
  let stopReason: string | undefined;
  try {
    for (const [i, step] of scenario.steps.entries()) {
      const base = { title: step.title, kind: step.kind, where: step.where };
      if (stopReason) {
        steps.push({ ...base, status: 'skipped', durationMs: 0, message: `not run: ${stopReason}` });
        continue;
      }
      const s0 = Date.now();
      let result: StepResult;
      try {
        const { excerpt } = await stepOrDeath(step, drivers, hooks);
        const death = drivers.takeDeath?.();
        if (death) throw death;
        result = { ...base, status: 'passed', durationMs: Date.now() - s0, excerpt };
      } catch (e) {
        const death = drivers.takeDeath?.();
        const cause = death ?? e;
        const status = classify(cause);
        result = {
          ...base,
          status,
          durationMs: Date.now() - s0,
          message: (cause as Error).message,
          ...(excerptOf(cause) ? { excerpt: excerptOf(cause)! } : {}),
          ...(status === 'error' ? { errorKind: errorKind(cause) } : {}),
        };
        stopReason = `step ${i + 1} (${step.title}) ${status === 'failed' ? 'failed' : 'errored'}`;
      }
      steps.push(result);
      const mark = result.status === 'passed' ? 'ok  ' : result.status === 'failed' ? 'FAIL' : 'ERR ';
      hooks.progress(`${scenario.name} [${i + 1}/${scenario.steps.length}] ${mark} ${step.title} (${formatDuration(result.durationMs)})`);
    }
    // Before cleanup, so the backends and background commands are still there to be seen.
    const failed = steps.find((s) => s.status === 'failed' || s.status === 'error');
    if (failed && drivers.forensics) {
      const where = await drivers.forensics().catch((e: unknown) => {
        hooks.progress(`${scenario.name}: forensics failed: ${(e as Error).message}`);
        return undefined;
      });
      if (where) failed.forensics = where;
    }
  } finally {
    // A cleanup problem is reported but never replaces the steps' own results.
    await drivers.cleanup?.().catch((e: unknown) => hooks.progress(`${scenario.name}: cleanup failed: ${(e as Error).message}`));
  }
  return { name: scenario.name, file: scenario.file, status: scenarioStatus(steps), startedAt, durationMs: Date.now() - t0, steps };
}
