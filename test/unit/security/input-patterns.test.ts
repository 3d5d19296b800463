// Scenario patterns run on the event loop against guest output: a backtracking pattern could
// block every timer, timeout-minutes included. They run on V8's linear-time engine instead.
import { describe, expect, it } from 'vitest';
import { parseScenario } from '../../../src/config/index.js';
import { scenarioErrorOf as errorOf } from '../../support/config-error.js';


const NOT_LINEAR =
  'expected a regular expression without backreferences (\\1, \\k<name>), lookaround ((?=, (?!, (?<=, (?<!) or repetition counts above 16 (x{17}), which the linear-time matcher cannot run';

describe('scenario patterns', () => {
  it('a catastrophic pattern against a long non-matching line returns (false) instead of running for ever', () => {
    const s = parseScenario(
      'x.yaml',
      'name: x\nsteps:\n  - wait: { console: dom0, for: "(a+)+$" }\n  - ssh: { run: ls, expect: "(a+)+$", expect-not: "^(x|x)*y" }\n',
    );
    const wait = s.steps[0]!;
    const ssh = s.steps[1]!;
    if (wait.kind !== 'wait' || !('pattern' in wait.for) || ssh.kind !== 'ssh') throw new Error('unexpected steps');
    // Checked first: on the backtracking engine the match below would never return.
    for (const re of [wait.for.pattern, ssh.expect!, ssh.expectNot!]) expect(re.flags).toBe('lm');
    const line = 'a'.repeat(10_000) + 'b';
    expect(wait.for.pattern.test(line)).toBe(false);
    expect(ssh.expect!.test(line)).toBe(false);
    expect(ssh.expectNot!.test('x'.repeat(10_000))).toBe(false);
    // Still multi-line: ^ and $ at line ends.
    expect(ssh.expect!.test('b\naaa\nc')).toBe(true);
  });

  it('keeps the engine through the copies the console and SSH drivers make', () => {
    const s = parseScenario('x.yaml', 'name: x\nsteps:\n  - ssh: { run: ls, expect: "(a+)+$" }\n');
    const re = (s.steps[0] as { expect: RegExp }).expect;
    // console.ts and ssh/background.ts drop g/y this way; Jest's toMatch copies with new RegExp(re).
    expect(new RegExp(re.source, (re.flags + 'g').replace(/[gy]/g, '')).flags).toBe('lm');
    expect(new RegExp(re).test('a'.repeat(10_000) + 'b')).toBe(false);
  });

  it('refuses what the linear-time engine cannot run, at file:line:column, saying what is not supported', () => {
    expect(errorOf('name: x\nsteps:\n  - ssh: { run: ls, expect: "(a)\\\\1" }\n')).toBe(`bad.yaml:3:29: expect: ${NOT_LINEAR}; got "(a)\\\\1"`);
    expect(errorOf('name: x\nsteps:\n  - console: { domain: dom0, run: ls, expect-not: "foo(?=bar)" }\n')).toBe(
      `bad.yaml:3:51: expect-not: ${NOT_LINEAR}; got "foo(?=bar)"`,
    );
    expect(errorOf('name: x\nsteps:\n  - wait: { console: dom0, for: "(?<!x)login:" }\n')).toBe(`bad.yaml:3:33: for: ${NOT_LINEAR}; got "(?<!x)login:"`);
    expect(errorOf('name: x\nsteps:\n  - ssh: { run: sha256sum f, expect: "^[0-9a-f]{64} " }\n')).toBe(
      `bad.yaml:3:38: expect: ${NOT_LINEAR}; got "^[0-9a-f]{64} "`,
    );
  });

  it('still reports a pattern that is not one as a syntax error', () => {
    expect(errorOf('name: x\nsteps:\n  - ssh: { run: ls, expect: "(" }\n')).toBe(
      'bad.yaml:3:29: expect: expected a regular expression: Invalid regular expression: /(/m: Unterminated group',
    );
    expect(errorOf('name: x\nsteps:\n  - wait: { console: dom0, for: "[" }\n')).toBe(
      'bad.yaml:3:33: for: expected "shell" or a regular expression: Invalid regular expression: /[/m: Unterminated character class',
    );
  });
});
