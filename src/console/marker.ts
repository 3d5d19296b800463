// The echo-safe command wrapper. The console echoes what is typed, so the typed text must
// never contain the markers it makes the shell print: the typed form splits each marker with
// an empty shell string (`XPV''B`), which the shell joins and the echo does not.

export interface MarkedCommand {
  /** What is typed, without the newline. */
  typed: string;
  /** Printed by the shell just before the command runs. */
  begin: RegExp;
  /** Printed after it; group 1 is the exit status. */
  end: RegExp;
  /** Present in every echo of `typed` (and in no output): flags echo lines. */
  echoToken: string;
}

/**
 * Wraps `command` as `echo <begin>; command; echo <end>-$?` on one line: one line means input
 * typed ahead cannot be swallowed by a command that reads stdin, and the begin marker means
 * the output is exactly what lies between the two markers, however the echo was wrapped.
 */
export function markCommand(command: string, nonce: string, n: number): MarkedCommand {
  const id = `${nonce}-${n}`;
  const body = command.trim().replace(/;+$/, '').trimEnd();
  // `cmd &;` is a syntax error: a backgrounded command is already terminated by its `&`.
  const joint = /(?:^|[^&])&$/.test(body) ? ' ' : '; ';
  return {
    typed: `echo XPV''B-${id}; ${body}${joint}echo XPV''E-${id}-$?`,
    begin: new RegExp(`XPVB-${id}(?![\\w-])`),
    end: new RegExp(`XPVE-${id}-(\\d+)`),
    echoToken: "XPV''",
  };
}
