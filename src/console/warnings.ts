// Warning-class lines: the kernel's WARNING and BUG reports and Xen's WARN and failed
// assertions. Nothing stops for them (the fatal watch does that for panics), but for a
// regression harness a new warning is often the first sign of a regression, so each one is
// kept with its trace and reported.
import type { SourceId } from './demux.js';

export interface WarningPattern {
  pattern: RegExp;
  /** Which lines it is checked on: Xen's own, or a Linux kernel's (dom0 or a domU). */
  on: 'xen' | 'kernel';
}

export const WARNING_PATTERNS: readonly WarningPattern[] = [
  // "WARNING: CPU: 0 PID: 109 at drivers/…", and lockdep's and RCU's "WARNING: possible …".
  { pattern: /\bWARNING: \S/, on: 'kernel' },
  { pattern: /\bBUG: \S/, on: 'kernel' },
  { pattern: /^Xen WARN at /, on: 'xen' },
  { pattern: /^Assertion '.*' failed at /, on: 'xen' },
];

/** How much of the report after the line is kept: a warning with its registers and call trace ran to 48 lines here. */
export const TRACE_LINES = 80;
/** Where the kernel ends a warning's report. */
const END_OF_TRACE = /---\[ end trace [0-9a-f]+ \]---/;

/** A warning as reports carry it. */
export interface SeenWarning {
  /** The domain as the scenario names it (`dom0`, `domU1`, `xen`). */
  domain: string;
  line: string;
  trace: string[];
}

export function isWarning(source: SourceId, text: string, patterns: readonly WarningPattern[] = WARNING_PATTERNS): boolean {
  const on = source === 'xen' ? 'xen' : 'kernel';
  return patterns.some((p) => p.on === on && p.pattern.test(text));
}

/**
 * Collects the warnings of one console: each once (a `dmesg` that prints the same line again
 * is not a second warning), with the lines of the same domain that follow it, up to the
 * kernel's end-of-trace marker or TRACE_LINES.
 */
export class WarningWatch {
  private readonly seen: SeenWarning[] = [];
  private readonly open = new Map<SourceId, SeenWarning>();

  constructor(private readonly name: (source: SourceId) => string) {}

  get warnings(): readonly SeenWarning[] {
    return this.seen;
  }

  /** One clean, non-echo line of `source`. */
  line(source: SourceId, text: string): void {
    const tracing = this.open.get(source);
    if (tracing && !isWarning(source, text)) {
      tracing.trace.push(text);
      if (tracing.trace.length >= TRACE_LINES || END_OF_TRACE.test(text)) this.open.delete(source);
      return;
    }
    this.open.delete(source);
    if (!isWarning(source, text)) return;
    const domain = this.name(source);
    // A printk that lands after a prompt shares its console line: the report starts at its timestamp.
    const line = text.replace(/^.*?(?=\[\s*\d+\.\d+\] )/, '');
    if (this.seen.some((w) => w.domain === domain && w.line === line)) return;
    const warning = { domain, line, trace: [] };
    this.seen.push(warning);
    this.open.set(source, warning);
  }
}
