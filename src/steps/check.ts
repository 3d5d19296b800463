// Scenario assertions go through Jest's `expect`, so a failed check reads like a test
// failure: the pattern and the text that was received. Jest's own first line
// (`expect(received).toMatch(expected)`) names its API, not the scenario: it is dropped.
import { expect } from 'expect';
import { ProductFailure } from '../errors.js';

// eslint-disable-next-line no-control-regex
const ANSI = /\x1b\[[0-9;]*m/g;

export function checkOutput(output: string, want: { expect?: RegExp; expectNot?: RegExp }, excerpt?: string): void {
  try {
    if (want.expect) expect(output).toMatch(want.expect);
    if (want.expectNot) expect(output).not.toMatch(want.expectNot);
  } catch (e) {
    const message = (e as Error).message.replace(ANSI, '').replace(/^expect\(received\)\.(?:not\.)?toMatch\(expected\)\n+/, '');
    throw new ProductFailure(message, excerpt === undefined ? {} : { consoleTail: excerpt });
  }
}
