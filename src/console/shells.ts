// Driving the domains' shells through the one serial input: moving Xen's input focus to a
// domain, running a marked command in its shell, and waiting until it has a shell at all
// (logging in when it asks). Every keystroke goes through the input turn.
import { performance } from 'node:perf_hooks';
import { randomBytes } from 'node:crypto';
import type { Deadline } from '../deadline.js';
import { focusName, type Focus, type SourceId } from './demux.js';
import { ConsoleTimeout, FocusError } from './errors.js';
import { moveFocus, SWITCH_INPUT } from './focus.js';
import { InputTurn } from './input-turn.js';
import type { Evidence, Line, LineStore } from './lines.js';
import { markCommand } from './marker.js';
import type { DomainNames } from './names.js';
import type { SerialReader } from './reader.js';
import type { Typist } from './typist.js';
import type { Waiters } from './waiters.js';

/** A command run in a domain's shell. */
export interface ConsoleRun {
  /** The command's output lines on that domain, between the begin and end markers. */
  output: string[];
  exitStatus: number;
  lines: Line[];
  durationMs: number;
  profile: RunProfile;
}

/** Where a command's time went (milliseconds), from the clocks the run reads anyway. */
export interface RunProfile {
  /** Waiting for the input turn while another command or focus move held it. */
  turnMs: number;
  focusSwitches: number;
  focusMs: number;
  typedBytes: number;
  echoWaits: number;
  /** From the first typed byte until the last one's echo and Enter. */
  typingMs: number;
  /** From Enter until the end marker: the guest's own time (its shell, the command, the output through Xen). */
  guestMs: number;
}

export interface ShellReady {
  how: 'ready-line' | 'login';
  line: Line;
}

export interface ShellsContext {
  reader: SerialReader;
  store: LineStore;
  waiters: Waiters;
  typist: Typist;
  names: DomainNames;
  evidence: Evidence;
}

// Random per console, so a marker can only be this console's; short, because every typed byte waits for its echo.
const MARKER_NONCE_BYTES = 3;

const isBanner = (l: Line) => l.banner !== undefined;

export class Shells {
  private readonly turn = new InputTurn();
  private readonly nonce = randomBytes(MARKER_NONCE_BYTES).toString('hex');
  private commands = 0;

  constructor(
    private readonly ctx: ShellsContext,
    /** How long one CTRL-a ×3 may take to produce its banner. */
    private readonly focusStepMs: number,
  ) {}

  /** Moves Xen's serial input to `target`, confirmed by Xen's banner. */
  focus(target: SourceId, deadline: Deadline): Promise<void> {
    return this.exclusive(deadline, target, `console: moving input focus to ${focusName(target)}`, async () => {
      await this.focusLocked(target, deadline);
    });
  }

  /** Types `command` into `source`'s shell and waits for it to finish. */
  run(source: SourceId, command: string, deadline: Deadline): Promise<ConsoleRun> {
    const name = this.ctx.names.display(source);
    const asked = performance.now();
    return this.exclusive(deadline, source, `console ${name}: running \`${command}\``, () => this.runLocked(source, command, deadline, asked));
  }

  /**
   * Waits for the rig's `/init` ready line, or for a `login:` prompt, which it answers with
   * `root` and then proves the shell with a marked command. Xen holds an unfocused domU's
   * output until its newline (docs/rig-facts.md, "Console"), so a login image's prompt shows
   * only once the domU is focused.
   */
  async waitForShell(source: SourceId, deadline: Deadline): Promise<ShellReady> {
    const name = this.ctx.names.display(source);
    const ready = source === 'dom0' ? /xen-pvh-virtio: dom0 shell ready/ : /xen-pvh-virtio: domU shell ready/;
    const login = /(?:^|\s)login:\s*$/;
    const line = await this.ctx.waiters.wait({
      domain: source,
      awaited: `console ${name}: waiting for a shell (${ready} or a login: prompt)`,
      deadline,
      match: (l) => ready.test(l.text) || login.test(l.text),
      history: true,
      consume: true,
      partial: true,
      tailOf: source,
    }).promise;
    if (ready.test(line.text)) {
      if (source === 'dom0') await this.waitForPrompt(source, deadline);
      return { how: 'ready-line', line };
    }
    await this.exclusive(deadline, source, `console ${name}: logging in`, async () => {
      await this.focusLocked(source, deadline);
      await this.ctx.typist.typeBlind('root', deadline, source, `console ${name}: typing the login name`);
      await this.runLocked(source, 'true', deadline);
    });
    return { how: 'login', line };
  }

  /**
   * dom0's rc prints its ready line just before init starts the shell, whose banner and prompt
   * follow. dom0 writes unprefixed, so those lines, printed while a command runs on a focused
   * domU, would be taken for the domU's (seen in a real boot, typing right after the ready
   * line): dom0 counts as ready once its prompt is there. A domU's prompt cannot be awaited
   * this way (Xen holds an unfocused domU's output until its newline), nor needs to be: its
   * lines carry Xen's prefix.
   */
  private async waitForPrompt(source: SourceId, deadline: Deadline): Promise<void> {
    const prompt = /[#$] ?$/;
    const last = this.ctx.reader.partial()?.pieces.at(-1);
    if (last && last.source === source && prompt.test(last.text)) return;
    await this.ctx.waiters.wait({
      domain: source,
      awaited: `console ${this.ctx.names.display(source)}: waiting for the shell's prompt after its ready line`,
      deadline,
      match: (l) => prompt.test(l.text),
      history: true,
      consume: false,
      partial: true,
      tailOf: source,
    }).promise;
  }

  private exclusive<T>(deadline: Deadline, domain: SourceId, awaited: string, fn: () => Promise<T>): Promise<T> {
    const busy = (waitedMs: number) =>
      new ConsoleTimeout(this.ctx.names.display(domain), `${awaited} (the console was busy with another command)`, waitedMs, this.ctx.evidence(domain));
    return this.turn.take(deadline, busy, fn);
  }

  /** Returns how many switches (CTRL-a ×3) it took: none when `target` already has focus. */
  private async focusLocked(target: SourceId, deadline: Deadline): Promise<number> {
    const { reader, waiters, typist } = this.ctx;
    let switches = 0;
    const awaited = `console: moving input focus to ${focusName(target)}`;
    if (!reader.handedOver) {
      await waiters.wait({
        domain: 'xen',
        awaited: `${awaited}: waiting for Xen to hand the console over`,
        deadline,
        match: isBanner,
        history: false,
        consume: false,
        partial: false,
        tailOf: 'all',
      }).promise;
    }
    const nextBanner = async (within: Deadline, send: boolean): Promise<Focus | undefined> => {
      const banner = waiters.armed({
        domain: 'xen',
        awaited,
        deadline: within,
        match: isBanner,
        history: false,
        consume: false,
        partial: false,
        tailOf: 'all',
      });
      try {
        if (send) {
          switches++;
          await typist.write(SWITCH_INPUT, awaited);
        }
        return (await banner.promise).banner;
      } catch (err) {
        if (err instanceof ConsoleTimeout) return undefined;
        throw err;
      } finally {
        banner.cancel();
      }
    };
    const outcome = await moveFocus(
      {
        current: () => reader.focus,
        switchOnce: (within) => nextBanner(within, true),
        awaitBanner: (within) => nextBanner(within, false),
      },
      target,
      deadline,
      this.focusStepMs,
    );
    if (!outcome.ok) throw new FocusError(outcome.reason, focusName(target), this.ctx.evidence('all'));
    return switches;
  }

  private async runLocked(source: SourceId, command: string, deadline: Deadline, asked = performance.now()): Promise<ConsoleRun> {
    const { reader, store, waiters, typist } = this.ctx;
    const started = performance.now();
    const name = this.ctx.names.display(source);
    const focusSwitches = await this.focusLocked(source, deadline);
    const focused = performance.now();
    const marked = markCommand(command, this.nonce, ++this.commands);
    // Not bound to a domain: the nonce and the command's number already make a marker this
    // command's, wherever the demultiplexer put its line.
    const marker = (what: string, re: RegExp) =>
      waiters.armed({
        awaited: `console ${name}: waiting for the ${what} marker of \`${command}\``,
        deadline,
        match: (l) => re.test(l.text),
        history: false,
        consume: false,
        partial: false,
        tailOf: source,
      });
    const begin = marker('begin', marked.begin);
    const end = marker('end', marked.end);
    reader.typing = { domain: source, typed: marked.typed };
    if (source !== 'dom0' && source !== 'xen') reader.runningOn = source;
    try {
      const typed = await typist.typeLine(marked.typed, deadline, source, `console ${name}: typing \`${command}\``);
      const entered = performance.now();
      const first = await begin.promise;
      reader.typing = undefined;
      const last = await end.promise;
      const ended = performance.now();
      const lines = store.linesAfter(source, first.seq).filter((l) => l.seq < last.seq && !l.echo);
      store.consumeThrough(source, last.seq);
      return {
        output: lines.map((l) => l.text),
        exitStatus: Number(marked.end.exec(last.text)?.[1]),
        lines,
        durationMs: ended - started,
        profile: {
          turnMs: started - asked,
          focusSwitches,
          focusMs: focused - started,
          typedBytes: typed.bytes,
          echoWaits: typed.echoWaits,
          typingMs: entered - focused,
          guestMs: ended - entered,
        },
      };
    } finally {
      reader.typing = undefined;
      reader.runningOn = undefined;
      begin.cancel();
      end.cancel();
    }
  }
}
