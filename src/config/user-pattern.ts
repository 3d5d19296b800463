// Scenario patterns (expect, expect-not, wait for) are matched on the event loop against
// guest output, where a backtracking pattern like (a+)+$ could run for hours and stall
// every timer, timeout-minutes included. V8's linear-time engine (the `l` flag) cannot
// stall; it is behind a V8 flag, set here, once, before any user pattern is compiled.
/* eslint no-invalid-regexp: ["error", { "allowConstructorFlags": ["l"] }] -- `l` is V8's linear-time flag, valid once set below */
import { setFlagsFromString } from 'node:v8';

setFlagsFromString('--enable-experimental-regexp-engine');

/** Whether the flag took: a Node whose V8 lacks the engine must not blame the user's pattern. */
const LINEAR_ENGINE = (() => {
  try {
    return new RegExp('', 'l').flags === 'l';
  } catch {
    return false;
  }
})();

/** What the linear-time engine cannot run, for the message that rejects such a pattern. */
export const NOT_LINEAR =
  'backreferences (\\1, \\k<name>), lookaround ((?=, (?!, (?<=, (?<!) or repetition counts above 16 (x{17}), which the linear-time matcher cannot run';

/**
 * A user's pattern, multi-line (^ and $ match at line ends) and linear-time; throws an
 * Error whose message says what is wrong with it.
 */
export function compileUserPattern(source: string): RegExp {
  // The plain compile first, so a syntax error reads as one rather than as "not linear".
  new RegExp(source, 'm');
  try {
    return new RegExp(source, 'ml');
  } catch {
    if (!LINEAR_ENGINE) throw new Error(`this Node.js (${process.version}) has no linear-time RegExp engine to run scenario patterns with`);
    throw new Error(`expected a regular expression without ${NOT_LINEAR}; got ${JSON.stringify(source)}`);
  }
}
