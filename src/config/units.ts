// Durations, sizes and addresses are parsed once, here, so later stages see numbers.

const DURATION = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/;
const DURATION_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

export const DURATION_PATTERN = DURATION.source;
export const SIZE_PATTERN = /^(\d+)([KMGT])i?B?$/.source;
export const ADDRESS_PATTERN = /^0x[0-9a-fA-F]+$/.source;

/** Node keeps a timer's delay in a signed 32-bit count of ms; a longer one fires at once. */
export const MAX_DURATION_MS = 2 ** 31 - 1;

/** What is wrong with a duration that parses; callers add how the user named it. */
export const DURATION_PROBLEM = {
  zero: 'expected a duration above 0',
  tooLong: `expected at most ${MAX_DURATION_MS}ms (about 596h, the longest Node's timers can wait)`,
} as const;

/** A duration's milliseconds, or why it cannot be a deadline; undefined when it is no duration at all. */
export function readDuration(text: string): { ms: number } | { problem: string } | undefined {
  const m = DURATION.exec(text.trim());
  if (!m) return undefined;
  const ms = Math.round(Number(m[1]) * DURATION_MS[m[2]!]!);
  if (ms === 0) return { problem: DURATION_PROBLEM.zero };
  if (ms > MAX_DURATION_MS) return { problem: DURATION_PROBLEM.tooLong };
  return { ms };
}

/** "300s", "5m", "1.5h", "250ms" → milliseconds; undefined when it is not a usable duration. */
export function parseDuration(text: string): number | undefined {
  const d = readDuration(text);
  return d && 'ms' in d ? d.ms : undefined;
}

const SIZE_MIB: Record<string, number> = { K: 1 / 1024, M: 1, G: 1024, T: 1024 * 1024 };

/** "1024M", "1G", "512MiB" → MiB (whole MiB only); undefined otherwise. */
export function parseSizeMiB(text: string): number | undefined {
  const m = new RegExp(SIZE_PATTERN).exec(text.trim());
  if (!m) return undefined;
  const mib = Number(m[1]) * SIZE_MIB[m[2]!]!;
  return Number.isInteger(mib) && mib > 0 ? mib : undefined;
}

/** "0xf100000000" → bigint; addresses exceed 2^53, so never a number. */
export function parseAddress(text: string): bigint | undefined {
  return new RegExp(ADDRESS_PATTERN).test(text.trim()) ? BigInt(text.trim()) : undefined;
}

export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)}s`;
  const m = Math.floor(ms / 60_000);
  return `${m}m${Math.round((ms % 60_000) / 1000)}s`;
}
