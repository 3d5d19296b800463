// Every malformed input, through the real CLI (the committed dist/cli.js): exit 2, one line
// naming the file (file:line:column where there is a position) or the flag, no stack trace,
// and nothing started. `plan` reads scenarios and flags; `run` is used only for the output
// paths, which plan never writes.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ROOT } from '../../support/cli.js';

const steps = 'steps:\n  - wait: { console: dom0, for: shell }\n';

const made: string[] = [];
afterAll(() => made.forEach((d) => rmSync(d, { recursive: true, force: true })));

/** A workspace of its own, with these files in it. */
function workspace(files: Record<string, string> = {}): string {
  const dir = mkdtempSync(join(tmpdir(), 'xpv-malformed-'));
  made.push(dir);
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}

/**
 * Runs the CLI with a deadline: what used to hang (a FIFO) or grow without end (/dev/zero,
 * quadratic parsing) is killed and fails the test instead of stalling the suite.
 */
function cli(args: string[], cwd: string, timeout = 20_000) {
  const r = spawnSync(process.execPath, [join(ROOT, 'dist/cli.js'), ...args], { cwd, encoding: 'utf8', timeout, killSignal: 'SIGKILL' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr, signal: r.signal };
}

/** Exit 2 with exactly this one-line message, and no stack trace. */
function expectUsageError(r: ReturnType<typeof cli>, message: string): void {
  expect({ code: r.code, signal: r.signal, stderr: r.stderr }).toEqual({ code: 2, signal: null, stderr: `error: ${message}\n` });
  expect(r.stdout).toBe('');
}

const BILLION_LAUGHS = ['a: &a [x, x, x, x, x, x, x, x, x]']
  .concat('bcdefghi'.split('').map((c, i) => `${c}: &${c} [${Array(9).fill(`*${'abcdefghi'[i]}`).join(', ')}]`))
  .join('\n');

describe('malformed scenario files (plan)', () => {
  it('a FIFO is refused at once, not waited on', () => {
    const dir = workspace();
    execFileSync('mkfifo', [join(dir, 'pipe.yaml')]);
    expectUsageError(cli(['plan', 'pipe.yaml'], dir), '--scenarios: scenario file pipe.yaml is a FIFO, not a regular file');
  });

  it('/dev/zero is refused, not read until memory runs out', () => {
    // Under a short deadline: the old read grew a buffer by hundreds of MB a second.
    expectUsageError(cli(['plan', '/dev/zero'], workspace(), 10_000), '--scenarios: scenario file /dev/zero is a character device, not a regular file');
  });

  it('a directory is refused with what to give instead', () => {
    const dir = workspace();
    mkdirSync(join(dir, 'ci'));
    expectUsageError(cli(['plan', 'ci/'], dir), '--scenarios: scenario file ci/ is a directory; name the files in it (a glob will do)');
  });

  it('a file over 1 MiB is refused without being parsed', () => {
    const head = `name: big\n${steps}`;
    const dir = workspace({ 'big.yaml': head + '#'.repeat(2 ** 20 - head.length) + '\n' });
    expectUsageError(cli(['plan', 'big.yaml'], dir), 'scenario file big.yaml is larger than 1 MiB, the limit for a scenario file');
  });

  it('120 000 keys are checked in linear time', () => {
    const keys = Array.from({ length: 120_000 }, (_, i) => `k${i.toString(36)}: 0`).join('\n');
    const dir = workspace({ 'keys.yaml': `name: many\n${keys}\n${steps}` });
    expectUsageError(cli(['plan', 'keys.yaml'], dir), 'keys.yaml:2:1: k0: unknown key; expected one of: name, description, requires, domains, timeout, fresh-boot, expected-warnings, steps');
  });

  it('an alias bomb is a usage error at the alias, not an infrastructure error', () => {
    const dir = workspace({ 'bomb.yaml': `${BILLION_LAUGHS}\nname: bomb\n${steps}` });
    expectUsageError(cli(['plan', 'bomb.yaml'], dir), "bomb.yaml:6:8: alias *e: this file's aliases expand to more than 100000 nodes, the limit (an alias bomb?)");
  });

  it('an alias without an anchor, or inside its own anchor, is a usage error at the alias', () => {
    const dir = workspace({ 'nope.yaml': `name: x\nrequires: [*nope]\n${steps}`, 'loop.yaml': `name: x\nrequires: &r [ssh, *r]\n${steps}` });
    expectUsageError(cli(['plan', 'nope.yaml'], dir), 'nope.yaml:2:12: alias *nope: no anchor &nope before it');
    expectUsageError(cli(['plan', 'loop.yaml'], dir), 'loop.yaml:2:20: alias *r: it is inside the node &r names, which would make that node endless');
  });

  it('a zero timeout is refused, not quietly replaced by the default', () => {
    const dir = workspace({ 'zero.yaml': 'name: x\nsteps:\n  - wait: { console: dom0, for: shell, timeout: 0s }\n' });
    expectUsageError(cli(['plan', 'zero.yaml'], dir), 'zero.yaml:3:49: timeout: expected a duration above 0, got "0s"');
  });

  it("a timeout past Node's timer range is refused, not fired at once", () => {
    const dir = workspace({ 'long.yaml': `name: x\ntimeout: 30d\n${steps}`, 'longer.yaml': `name: x\ntimeout: 9000h\n${steps}` });
    expectUsageError(cli(['plan', 'long.yaml'], dir), 'long.yaml:2:10: timeout: expected a duration like 300s or 5m, got "30d"');
    expectUsageError(cli(['plan', 'longer.yaml'], dir), 'longer.yaml:2:10: timeout: expected at most 2147483647ms (about 596h, the longest Node\'s timers can wait), got "9000h"');
  });

  it('a pattern the linear-time engine cannot run is refused at its position', () => {
    const dir = workspace({ 'backref.yaml': 'name: x\nsteps:\n  - ssh: { run: ls, expect: "(a)\\\\1" }\n' });
    expectUsageError(
      cli(['plan', 'backref.yaml'], dir),
      'backref.yaml:3:29: expect: expected a regular expression without backreferences (\\1, \\k<name>), lookaround ((?=, (?!, (?<=, (?<!) or repetition counts above 16 (x{17}), which the linear-time matcher cannot run; got "(a)\\\\1"',
    );
  });
});

describe('malformed flags', () => {
  it('keep-alive-on-failure past the timer range names the flag', () => {
    expectUsageError(
      cli(['plan', '--keep-alive-on-failure', '9999h'], workspace()),
      '--keep-alive-on-failure: expected at most 2147483647ms (about 596h, the longest Node\'s timers can wait), got "9999h"',
    );
  });

  it('timeout-minutes 0 names the flag', () => {
    expectUsageError(cli(['plan', '--timeout-minutes', '0'], workspace()), '--timeout-minutes: expected a whole number from 1 to 1440, got "0"');
  });
});

describe('malformed output paths (run)', () => {
  // A rig that cannot be had (nothing listens on the discard port): before the output paths
  // were checked first, such a run got as far as writing its report, and failed there.
  const noRig = ['--rig', 'prebuilt', '--rig-path', 'http://127.0.0.1:9/rig.tar.gz', '--snapshot', 'false'];

  it('a junit-path that is a directory is refused before anything starts', () => {
    const dir = workspace();
    mkdirSync(join(dir, 'reports'));
    const r = cli(['run', 'boot-smoke', ...noRig, '--junit-path', 'reports', '--logs-dir', 'logs'], dir);
    expectUsageError(r, `--junit-path: ${dir}/reports is a directory; expected the path of the report file to write, e.g. ${dir}/reports/junit.xml`);
    expect(existsSync(join(dir, 'logs'))).toBe(false);
  });

  it('a junit-path under a file is refused, naming the file in the way', () => {
    const dir = workspace({ 'notes.txt': 'x' });
    const r = cli(['run', 'boot-smoke', ...noRig, '--junit-path', 'notes.txt/junit.xml', '--logs-dir', 'logs'], dir);
    expectUsageError(r, `--junit-path: cannot write ${dir}/notes.txt/junit.xml: ${dir}/notes.txt is a file, not a directory`);
  });

  it('a logs-dir that is a file is refused, and nothing is written', () => {
    const dir = workspace({ 'logs': 'x' });
    const r = cli(['run', 'boot-smoke', ...noRig, '--junit-path', 'out/junit.xml', '--logs-dir', 'logs'], dir);
    expectUsageError(r, `--logs-dir: ${dir}/logs is a file, not a directory`);
    expect(readdirSync(dir)).toEqual(['logs']);
  });
});
