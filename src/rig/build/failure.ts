// A tree under test that its own build refused is the product failing, not the harness: a
// failed step of such a build (make, ninja, configure, autogen.sh exited non-zero) becomes a
// BuildFailure carrying what a developer reads first, the first real compiler or tool error
// and the log's last lines. A step that could not run (a missing tool), that the run stopped,
// or that the host let down (a full disk, no memory, a kill) stays an InfraError.
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { ProductFailure } from '../../errors.js';
import type { BuildResult } from '../../scenario/result.js';

/** How much of a failed build's log its report keeps: the last lines, and at most this many bytes of them. */
export const TAIL_LINES = 40;
export const TAIL_BYTES = 8 * 1024;
/** A line longer than this (a linker's command line) is cut: a report quotes it, it does not archive it. */
const LINE_CHARS = 1000;
const ERROR_CHARS = 500;

/** One component build as a run reports it: RunResult.builds' own shape. */
export type BuildReport = BuildResult;

/** What a failed step of a tree under test leaves to report. */
export interface BuildFailureFacts {
  component: string;
  step: string;
  exitCode: number;
  seconds: number;
  logFile: string;
  firstError?: string;
  /** The log's last lines (TAIL_LINES, TAIL_BYTES). */
  tail: string;
}

/** The tree under test did not build: a product failure (JUnit <failure>, exit 1). */
export class BuildFailure extends ProductFailure {
  override name = 'BuildFailure';
  constructor(readonly facts: BuildFailureFacts) {
    super(`${headline(facts)}\nfull log: ${facts.logFile}\nlast lines of the log:\n${facts.tail}`, { logFile: facts.logFile, consoleTail: facts.tail });
  }

  /** One line: the component, the step and the first error. */
  get headline(): string {
    return headline(this.facts);
  }

  get component(): string {
    return this.facts.component;
  }

  /** The failure as a run reports it; durationMs is the whole build's time when the caller measured it. */
  report(durationMs = this.facts.seconds * 1000): BuildReport {
    const { component, step, exitCode, logFile, firstError, tail } = this.facts;
    return { component, status: 'failed', cached: false, durationMs, message: firstError ?? `${step} failed (exit ${exitCode})`, excerpt: tail, logFile, step };
  }
}

function headline(f: BuildFailureFacts): string {
  return `${f.component}: ${f.step} failed (exit ${f.exitCode}, ${f.seconds.toFixed(0)} s): ${f.firstError ?? 'no compiler or tool error recognised in its log'}`;
}

// What a build log's lines say, the most telling kind first. A parallel make or ninja keeps
// going after the first error and ends with its own trailers ("make: *** … Error 2"), so the
// first line of the best kind is the error, not the last line of the log.
const COMPILER = [
  // gcc, clang, GNU as, meson's own file:line:col: ERROR: …
  /^[^\s:][^:]*:\d+(?::\d+)?: (?:fatal )?error\b/i,
  /^[^\s:][^:]*:\d+: syntax error\b/,
  // The compiler drivers themselves (an unknown option), and rustc.
  /^(?:\S*\/)?(?:[\w.+-]+-)?(?:gcc|g\+\+|cc|c\+\+|cc1|cc1plus|clang|clang\+\+)(?:-[\d.]+)?: (?:fatal )?error: /,
  /^error(?:\[E\d+\])?: /,
  // Linkers: ld.bfd's "undefined reference", lld's "error:", a missing library.
  /\bundefined reference to\b/,
  /\bmultiple definition of\b/,
  /^(?:\S*\/)?(?:[\w.+-]+-)?ld(?:\.bfd|\.gold|\.lld)?: (?:error: |cannot find )/,
];
const TOOL = [
  // meson, QEMU's and Xen's configure, Kconfig.
  /^(?:\S+: )?ERROR: /,
  /^configure: error: /,
  /^\*\*\* Error\b/,
  // make's own errors in a Makefile, and a missing target.
  /^[^\s:][^:]*:\d+: \*\*\* .*Stop\.$/,
  /\*\*\* No rule to make target\b/,
];
const TRAILER = [/^g?make(?:\[\d+\])?: \*\*\* /, /^FAILED: /, /^ninja: build stopped\b/];

/** Lines that say the host failed the build, not the tree. */
const HOST_TROUBLE =
  /No space left on device|Disk quota exceeded|Cannot allocate memory|virtual memory exhausted|out of memory allocating|Killed signal terminated program|Read-only file system|Too many open files/i;

// eslint-disable-next-line no-control-regex
const ANSI = /\x1b\[[0-9;?]*[A-Za-z]/g;

/** A log line as it reads: no colour codes, no carriage returns, bounded. */
function plainLine(line: string): string {
  return line.replace(ANSI, '').replace(/\r/g, '').slice(0, LINE_CHARS);
}

/** Finds the first error of a log's lines as they come; `best` is the first line of the best kind. */
export class FirstErrorFinder {
  private readonly found: (string | undefined)[] = [undefined, undefined, undefined];

  add(raw: string): void {
    const line = plainLine(raw).trim();
    if (line === '') return;
    [COMPILER, TOOL, TRAILER].forEach((kind, i) => {
      if (this.found[i] === undefined && kind.some((re) => re.test(line))) this.found[i] = line.slice(0, ERROR_CHARS);
    });
  }

  get best(): string | undefined {
    return this.found.find((l) => l !== undefined);
  }
}

/** The first compiler error of a build's output, else a tool's error, else make's or ninja's trailer. */
export function firstBuildError(lines: Iterable<string>): string | undefined {
  const finder = new FirstErrorFinder();
  for (const l of lines) finder.add(l);
  return finder.best;
}

/** The last lines, at most TAIL_LINES of them and TAIL_BYTES in all (cut at a line). */
export function boundedTail(lines: readonly string[]): string {
  const kept: string[] = [];
  let bytes = 0;
  for (const line of lines.slice(-TAIL_LINES).reverse()) {
    bytes += Buffer.byteLength(line) + 1;
    if (bytes > TAIL_BYTES && kept.length > 0) break;
    kept.unshift(line.length > TAIL_BYTES ? line.slice(0, TAIL_BYTES) : line);
  }
  return kept.join('\n');
}

export interface BuildLogReading {
  firstError?: string;
  tail: string;
  /** A line saying the host failed the build (a full disk, no memory), when there is one. */
  hostTrouble?: string;
}

/**
 * Reads a step's log as runLogged wrote it: `headerLines` of command and environment, the
 * output, then its own `exit: …` line. Streams it, so a log of any size costs its tail in memory.
 */
export async function readBuildLog(logFile: string, headerLines: number): Promise<BuildLogReading> {
  const finder = new FirstErrorFinder();
  let hostTrouble: string | undefined;
  const tail: string[] = [];
  let n = 0;
  const lines = createInterface({ input: createReadStream(logFile), crlfDelay: Infinity });
  for await (const raw of lines) {
    if (n++ < headerLines) continue;
    const line = plainLine(raw);
    finder.add(line);
    if (hostTrouble === undefined && HOST_TROUBLE.test(line)) hostTrouble = line.trim().slice(0, ERROR_CHARS);
    if (line.trim() === '') continue;
    tail.push(line);
    if (tail.length > TAIL_LINES + 1) tail.shift();
  }
  // runLogged's own last line says how the step ended; the messages say that already.
  if (/^exit: \d+ after /.test(tail.at(-1) ?? '')) tail.pop();
  return { ...(finder.best !== undefined ? { firstError: finder.best } : {}), tail: boundedTail(tail), ...(hostTrouble !== undefined ? { hostTrouble } : {}) };
}

/**
 * Why a failed step is the host's and not the tree's, if it is: its program could not be run
 * (exit 126 or 127 from `nice`: not found, not executable), a signal killed it (the OOM
 * killer), or its log says the host ran out of something.
 */
export function hostCause(exitCode: number, signal: string | undefined, reading: BuildLogReading): string | undefined {
  if (signal) return `killed by ${signal}`;
  if (exitCode === 126 || exitCode === 127) return `its program could not be run (exit ${exitCode})`;
  return reading.hostTrouble;
}
