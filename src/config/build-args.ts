// Extra build arguments (xen-configure-args, xen-make-args, qemu-configure-args): one line
// split into arguments at spaces and tabs, where '…' or "…" keeps a part with spaces whole
// (`EXTRA_CFLAGS_XEN_CORE="-Wno-error -O1"` is one argument). There are no escapes: inside
// one kind of quote the other is plain. The arguments reach the build tools as argv
// elements, never through a shell, so nothing else in them is special.
import { ConfigError } from '../errors.js';

/** Far more than a build needs; a bound, so that a key or a log line never holds a novel. */
const MAX_CHARS = 4096;

/** The arguments `text` holds; a ConfigError naming `label` (the input or flag) when it is not one line of them. */
export function splitBuildArgs(text: string, label: string): string[] {
  if (text.length > MAX_CHARS) throw new ConfigError(`${label}: ${text.length} characters, more than the ${MAX_CHARS} extra build arguments may take`);
  const bad = /[\0\n\r]/.exec(text);
  if (bad) {
    const what = bad[0] === '\0' ? 'a NUL character' : 'a line break';
    throw new ConfigError(`${label}: holds ${what} (at character ${bad.index + 1}); give the arguments on one line, separated by spaces`);
  }
  const args: string[] = [];
  let current: string | undefined;
  let quote: { char: string; at: number } | undefined;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (quote) {
      if (ch === quote.char) quote = undefined;
      else current += ch;
    } else if (ch === ' ' || ch === '\t') {
      if (current !== undefined) args.push(current);
      current = undefined;
    } else if (ch === '"' || ch === "'") {
      quote = { char: ch, at: i };
      current ??= '';
    } else current = (current ?? '') + ch;
  }
  if (quote) throw new ConfigError(`${label}: the ${quote.char} at character ${quote.at + 1} is never closed`);
  if (current !== undefined) args.push(current);
  return args;
}

/** Arguments as a reader sees them in a log or a manifest: one with spaces or quotes in JSON's quotes. */
export function buildArgsText(args: readonly string[]): string {
  return args.map((a) => (a === '' || /[\s'"\\]/.test(a) ? JSON.stringify(a) : a)).join(' ');
}
