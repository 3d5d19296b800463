// What a step kind is. Everything the harness knows about one kind of scenario step (how a
// scenario file writes it, what it becomes, what it does, what it costs the system and the
// rig) is one value of this type, so a kind is one module and one line in registry.ts, and
// a kind that leaves a part out does not compile.
import type { z } from 'zod';
import type { SourcePos } from '../errors.js';
import type { Capability } from '../rig/manifest.js';

/** A console the harness can reach: Xen's, dom0's or a domU's (by its name). */
export type ConsoleTarget = 'xen' | 'dom0' | string;

/** What every step carries, whatever its kind. */
export interface StepBase {
  /** Deadline for the step, in milliseconds. */
  timeoutMs: number;
  /** Where the step was written, for error messages. */
  where: SourcePos;
  /** A label for reports; derived from the step when the file gives none. */
  title: string;
}

/** What a kind's parse knows of the scenario around the step. */
export interface StepContext {
  /** Where the step's map is written: its `where`. */
  where: SourcePos;
  /** Where the value of one of the step's keys is written, for an error about it. */
  pos(key: string): SourcePos;
  /** The step's deadline: its own timeout, or the scenario's default. */
  timeoutMs(own: number | undefined): number;
  /** Throws a ConfigError at `key` unless `name` is xen, dom0 or a domU the scenario declares. */
  requireDeclared(name: string, key: string): void;
  /** The folder of the scenario file; absent for a built-in scenario, whose folder is the harness's own. */
  dir?: string;
}

export interface RunnerHooks {
  progress(line: string): void;
  /** A wait step saw something worth a timeline entry (e.g. "domU1 shell"), at epoch ms. */
  phase?(name: string, at?: number): void;
}

/**
 * Where a step's time went, as far as the harness can tell (milliseconds, byte and event
 * counts), for the benchmark: what the guest itself needed beside what typing, focus, the
 * console's turn and SSH round trips cost. Plain numbers taken from clocks the step reads
 * anyway; each field only where it applies.
 */
export interface StepProfile {
  /** What the guest needed: from Enter to the end marker (console), the command's own run (SSH), the wait (wait). */
  guestMs?: number;
  /** Bytes written to the serial port: the marked command line, Enter, and any erase and retype. */
  typedBytes?: number;
  /** Chunks typed, each waited for until its echo came back. */
  echoWaits?: number;
  /** From the first typed byte until the last one's echo and Enter. */
  typingMs?: number;
  /** CTRL-a ×3 sent to move Xen's input to the domain, each confirmed by a banner. */
  focusSwitches?: number;
  focusMs?: number;
  /** Waiting for the console's input turn while another command held it. */
  turnMs?: number;
  /** Getting the exit status once the command was done, when that costs time of its own (SSH: from the status to the channel's close). */
  exitStatusMs?: number;
  /** Round trips to dom0 before the command ran: a login counts one, each command two (channel open, exec request). */
  roundTrips?: number;
  /** Waiting for the SSH link to dom0: a login when there was none, else nothing. */
  connectMs?: number;
  /** From asking for the command's channel until dom0 started it. */
  openMs?: number;
}

/** What a step observed, for <system-out>, and where its time went. */
export interface StepOutcome {
  excerpt: string;
  profile?: StepProfile;
}

export interface StepKind<Name extends string, Schema extends z.ZodType, Data extends StepBase & { kind: Name }, Drivers> {
  /** The key that introduces the step in a scenario file, and its data's `kind`. */
  readonly name: Name;
  /** The step's map in a scenario file; it is also that part of scenarios/schema.json. */
  readonly schema: Schema;
  /** The validated map as plain step data; what zod cannot check alone (declared domains) throws a ConfigError. */
  readonly parse: (raw: z.output<Schema>, at: StepContext) => Data;
  /**
   * Does the step with the part of the scenario's drivers it names (the registry checks that
   * every scenario has that part). A ProductFailure fails the step; anything else errors it.
   */
  readonly run: (step: Data, drivers: Drivers, hooks: RunnerHooks) => Promise<StepOutcome>;
  /**
   * Whether the step leaves the system unfit for another scenario (devices, drivers, Xen
   * state in a domU): such a scenario runs last on its system (scenario/systems-plan.ts).
   */
  readonly changesSystem: boolean;
  /** The rig capabilities the step cannot run without: a rig lacking one skips the scenario. */
  readonly needs: readonly Capability[];
}

/** A kind, with its types checked where it is written. */
export function defineStepKind<Name extends string, Schema extends z.ZodType, Data extends StepBase & { kind: Name }, Drivers>(
  kind: StepKind<Name, Schema, Data, Drivers>,
): StepKind<Name, Schema, Data, Drivers> {
  return kind;
}
