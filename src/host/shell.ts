// POSIX shell quoting, for the few places that must write a script (a command for dom0's
// shell, a compiler wrapper): every word from outside goes through here.

/** One POSIX shell word holding `text` exactly. */
export function shellQuote(text: string): string {
  return `'${text.replace(/'/g, `'\\''`)}'`;
}
