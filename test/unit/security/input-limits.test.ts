// Scenario files and durations from users: what would hang, eat memory, take quadratic time
// or fire a timer at once is a ConfigError naming the file (and position) or the option.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadScenarioFile, parseScenario, resolvePlan, type RawOptions } from '../../../src/config/index.js';
import { configErrorOf as errorOf } from '../../support/config-error.js';

const steps = 'steps:\n  - wait: { console: dom0, for: shell }\n';


const parseError = (source: string) => errorOf(() => parseScenario('bad.yaml', source));

const made: string[] = [];
afterAll(() => made.forEach((d) => rmSync(d, { recursive: true, force: true })));

function dir(): string {
  const d = mkdtempSync(join(tmpdir(), 'xpv-input-'));
  made.push(d);
  return d;
}

/** Nine nested levels of nine aliases each: 9^9 nodes once expanded. */
const BILLION_LAUGHS = ['a: &a [x, x, x, x, x, x, x, x, x]']
  .concat(
    'bcdefghi'.split('').map((c, i) => {
      const prev = 'abcdefghi'[i]!;
      return `${c}: &${c} [${Array(9).fill(`*${prev}`).join(', ')}]`;
    }),
  )
  .join('\n');

describe('scenario files are bounded', () => {
  it('refuses a FIFO without blocking on it', () => {
    const fifo = join(dir(), 'pipe.yaml');
    execFileSync('mkfifo', [fifo]);
    // Opening a FIFO for reading blocks until a writer comes: the old read never returned.
    expect(errorOf(() => loadScenarioFile(fifo, 'pipe.yaml'))).toBe('scenario file pipe.yaml is a FIFO, not a regular file');
  });

  it('refuses a device such as /dev/zero instead of reading it forever', () => {
    expect(errorOf(() => loadScenarioFile('/dev/zero'))).toBe('scenario file /dev/zero is a character device, not a regular file');
  });

  it('refuses a file over 1 MiB without parsing it, and accepts one just under', () => {
    const d = dir();
    const head = `name: big\n${steps}`;
    writeFileSync(join(d, 'big.yaml'), head + '#'.repeat(2 ** 20 - head.length) + '\n');
    expect(errorOf(() => loadScenarioFile(join(d, 'big.yaml'), 'big.yaml'))).toBe('scenario file big.yaml is larger than 1 MiB, the limit for a scenario file');
    writeFileSync(join(d, 'fits.yaml'), head + '#'.repeat(2 ** 20 - head.length - 1) + '\n');
    expect(loadScenarioFile(join(d, 'fits.yaml')).name).toBe('big');
    expect(errorOf(() => parseScenario('big.yaml', head + ' '.repeat(2 ** 20)))).toBe('scenario file big.yaml is larger than 1 MiB, the limit for a scenario file');
  });

  it('checks 120 000 keys in linear time (yaml compared each key with all before it: about a minute)', () => {
    const keys = Array.from({ length: 120_000 }, (_, i) => `k${i.toString(36)}: 0`).join('\n');
    const t0 = Date.now();
    expect(parseError(`name: many\n${keys}\n${steps}`)).toBe('bad.yaml:2:1: k0: unknown key; expected one of: name, description, requires, domains, timeout, fresh-boot, expected-warnings, steps');
    // A bound 4x above what this takes on a loaded runner, and 4x below the quadratic check.
    expect(Date.now() - t0).toBeLessThan(15_000);
  });

  it('resolves 60 000 anchors, each aliased once, in linear time (yaml scanned every earlier anchor per alias: about 50 s)', () => {
    const pairs = Array.from({ length: 60_000 }, (_, i) => `&${i.toString(36)} x, *${i.toString(36)}`).join(', ');
    const t0 = Date.now();
    expect(parseError(`name: x\nrequires: [${pairs}]\n${steps}`)).toMatch(/^bad\.yaml:2:15: requires\[0\]: expected a capability/);
    expect(Date.now() - t0).toBeLessThan(15_000);
  });

  it('still finds a duplicate key, where it is written', () => {
    expect(parseError(`name: x\n${steps}name: y\n`)).toBe('bad.yaml:4:1: invalid YAML: Map keys must be unique');
    expect(parseError(`name: x\ndomains:\n  domU1: { cpus: 1, cpus: 2 }\n${steps}`)).toBe('bad.yaml:3:21: invalid YAML: Map keys must be unique');
  });

  it('reports an alias bomb as a usage error at the alias that crosses the limit', () => {
    expect(parseError(`${BILLION_LAUGHS}\nname: bomb\n${steps}`)).toBe(
      'bad.yaml:6:8: alias *e: this file\'s aliases expand to more than 100000 nodes, the limit (an alias bomb?)',
    );
  });

  it('reports an alias without its anchor, and one inside the node it names, at the alias', () => {
    expect(parseError(`name: x\nrequires: [*nope]\n${steps}`)).toBe('bad.yaml:2:12: alias *nope: no anchor &nope before it');
    expect(parseError(`name: x\nrequires: &r [ssh, *r]\n${steps}`)).toBe(
      'bad.yaml:2:20: alias *r: it is inside the node &r names, which would make that node endless',
    );
  });

  it('still expands honest aliases, and errors inside them point at what was written', () => {
    const shared = `name: x\ndomains:\n  domU1: &dom { memory: 1G, cpus: 2 }\n  domU2: *dom\n${steps}`;
    expect(parseScenario('ok.yaml', shared).domains).toEqual([
      { name: 'domU1', domid: 1, memoryMiB: 1024, cpus: 2 },
      { name: 'domU2', domid: 2, memoryMiB: 1024, cpus: 2 },
    ]);
    // yaml's own guard refused a 101st alias of one anchor, as an infrastructure error.
    const often = `name: x\nrequires: [&ssh ssh, ${Array(200).fill('*ssh').join(', ')}]\n${steps}`;
    expect(parseScenario('ok.yaml', often).requires).toEqual(['ssh']);
    expect(parseError(`name: x\ndomains:\n  domU1: &dom { memory: lots }\n  domU2: *dom\n${steps}`)).toBe(
      'bad.yaml:3:25: memory: expected a size like 1024M or 1G, got "lots"',
    );
  });
});

describe('durations are deadlines Node can keep', () => {
  it('refuses a zero step or scenario timeout instead of quietly using the default', () => {
    expect(parseError('name: x\nsteps:\n  - wait: { console: dom0, for: shell, timeout: 0s }\n')).toBe(
      'bad.yaml:3:49: timeout: expected a duration above 0, got "0s"',
    );
    expect(parseError(`name: x\ntimeout: 0m\n${steps}`)).toBe('bad.yaml:2:10: timeout: expected a duration above 0, got "0m"');
  });

  it("refuses a timeout longer than Node's timers can wait (2^31-1 ms), which would fire at once", () => {
    expect(parseError('name: x\nsteps:\n  - wait: { console: dom0, for: shell, timeout: 600h }\n')).toBe(
      'bad.yaml:3:49: timeout: expected at most 2147483647ms (about 596h, the longest Node\'s timers can wait), got "600h"',
    );
    expect(parseScenario('ok.yaml', 'name: x\nsteps:\n  - wait: { console: dom0, for: shell, timeout: 2147483647ms }\n').steps[0]!.timeoutMs).toBe(2 ** 31 - 1);
  });

  it('keep-alive-on-failure: past the bound is an error naming the option; 0s is off, like 0', () => {
    const raw = (v: string, label = (n: string) => `--${n}`): RawOptions => ({ values: { 'keep-alive-on-failure': v }, label });
    const where = { cwd: '/work', env: { HOME: '/home/dev' } };
    expect(errorOf(() => resolvePlan(raw('9999h'), where))).toBe(
      '--keep-alive-on-failure: expected at most 2147483647ms (about 596h, the longest Node\'s timers can wait), got "9999h"',
    );
    expect(errorOf(() => resolvePlan(raw('9999h', (n) => `input \`${n}\``), where))).toMatch(/^input `keep-alive-on-failure`: expected at most/);
    expect(resolvePlan(raw('0s'), where).keepAliveOnFailureMs).toBe(0);
    expect(resolvePlan(raw('596h'), where).keepAliveOnFailureMs).toBe(596 * 3_600_000);
  });

  it('timeout-minutes stays within 1 to 1440, far inside the timer bound', () => {
    const where = { cwd: '/work', env: { HOME: '/home/dev' } };
    const raw = (v: string): RawOptions => ({ values: { 'timeout-minutes': v }, label: (n) => `--${n}` });
    expect(errorOf(() => resolvePlan(raw('0'), where))).toBe('--timeout-minutes: expected a whole number from 1 to 1440, got "0"');
    expect(errorOf(() => resolvePlan(raw('99999999'), where))).toBe('--timeout-minutes: expected a whole number from 1 to 1440, got "99999999"');
  });
});
