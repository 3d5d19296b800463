// What steps run against: the drivers of a booted machine, as small protocols. A step never
// reaches into a socket or a process of the machine; the session implements these.
// scenario/runner.ts re-exports them for the code that implements them.
import type { BackendProtocol } from './backend.js';
import type { StepProfile } from './kind.js';

export type { BackendProtocol } from './backend.js';

export interface ConsoleProtocol {
  /** Resolves when the domain's shell is ready; `at` is when it was seen (epoch ms). */
  waitForShell(domain: string, deadlineMs: number): Promise<{ at: number }>;
  expect(domain: string, pattern: RegExp, deadlineMs: number): Promise<{ text: string }>;
  run(domain: string, command: string, deadlineMs: number): Promise<{ output: string[]; exitStatus: number; profile?: StepProfile }>;
  tail(domain: string, lines?: number): string;
}

export interface CommandResult {
  exitCode: number | null;
  stdout: string;
  stderr: string;
  /** Where the command's time went: the link, the channel, the command itself. */
  profile?: StepProfile;
}

export interface CommandProtocol {
  run(command: string, deadlineMs: number): Promise<CommandResult>;
  /** Starts a long-lived command; its output goes to its own log; death fails the scenario. */
  background(name: string, command: string): Promise<{ logFile: string }>;
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
