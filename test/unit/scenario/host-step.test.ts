// The `host` step: real processes on this machine, run the way a scenario runs them.
import { mkdtempSync, readFileSync, realpathSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadScenarioFile, parseScenario } from '../../../src/config/index.js';
import type { Scenario } from '../../../src/config/types.js';
import { identify } from '../../../src/host/process-identity.js';
import { runScenario, type ScenarioDrivers } from '../../../src/scenario/runner.js';
import type { StepResult } from '../../../src/scenario/result.js';
import { HOST_OUTPUT_BYTES } from '../../../src/steps/host.js';
import { scenarioErrorOf as errorOf } from '../../support/config-error.js';

// A host step needs nothing of the machine: touching a driver is a bug.
const drivers: ScenarioDrivers = {
  console: new Proxy({} as ScenarioDrivers['console'], {
    get: () => {
      throw new Error('a host step used the console');
    },
  }),
  dom0: () => Promise.reject(new Error('a host step used SSH')),
};

const tmp = () => realpathSync(mkdtempSync(join(tmpdir(), 'xpv-host-')));

/** A scenario file in its own folder, loaded the way `run` loads it. */
function scenarioIn(dir: string, steps: string): Scenario {
  writeFileSync(join(dir, 'host.yaml'), `name: host\nsteps:\n${steps}`);
  return loadScenarioFile(join(dir, 'host.yaml'), 'host.yaml');
}

async function runIn(dir: string, step: string): Promise<StepResult> {
  const result = await runScenario(scenarioIn(dir, `  - host: ${step}\n`), drivers, { progress: () => undefined });
  return result.steps[0]!;
}


/** Whether a process with this id still runs (a zombie waiting for its reaper does not). */
const alive = (pid: number) => identify(pid) !== undefined;

describe('host steps: the file', () => {
  it('reads the argument array as written, with a title one could paste into a shell', () => {
    const s = parseScenario('x.yaml', `name: x\nsteps:\n  - host: { run: [grep, -c, "it's a b", "$HOME"], expect: "^1$", timeout: 5s }\n`);
    expect(s.steps[0]).toMatchObject({ kind: 'host', argv: ['grep', '-c', "it's a b", '$HOME'], timeoutMs: 5000, title: `runner: grep -c 'it'\\''s a b' '$HOME'` });
    expect(s.steps[0]).not.toHaveProperty('cwd');
    expect(s.requires).toEqual([]);
  });

  it('names file:line:column for what it refuses', () => {
    const one = (step: string) => errorOf(`name: x\nsteps:\n  - host: ${step}\n`);
    expect(one('{ run: "ls -l" }')).toBe(
      'bad.yaml:3:18: run: expected a list of the program and its arguments, like [ls, -l] (no shell; for one, write [sh, -c, "…"]), got "ls -l"',
    );
    expect(one('{ run: [] }')).toBe('bad.yaml:3:18: run: expected the program to run and its arguments, like [ls, -l]');
    expect(one('{ run: [sleep, 5] }')).toBe('bad.yaml:3:26: run[1]: expected a string, got 5: put it in quotes ("5")');
    expect(one('{ run: ["", x] }')).toBe('bad.yaml:3:19: run[0]: expected a program to run, got ""');
    expect(one('{ run: [ls], shell: true }')).toBe('bad.yaml:3:24: shell: unknown key; expected one of: run, expect, expect-not, timeout, title');
    expect(one('{ expect: x }')).toBe('bad.yaml:3:11: run: missing; expected a list of the program and its arguments, like [ls, -l] (no shell; for one, write [sh, -c, "…"])');
    expect(one('{ run: [ls], timeout: soon }')).toBe('bad.yaml:3:33: timeout: expected a duration like 300s or 5m, got "soon"');
    expect(errorOf('name: x\nsteps:\n  - host:\n      run:\n        - ls\n        - [a]\n')).toBe('bad.yaml:6:11: run[1]: expected a string, got a list');
    expect(one('{ run: [ls, "a\\0b"] }')).toBe('bad.yaml:3:23: run[1]: an argument cannot hold a NUL character');
  });
});

describe('host steps: running', () => {
  const saved = { ...process.env };
  afterEach(() => {
    for (const k of Object.keys(process.env)) if (!(k in saved)) delete process.env[k];
  });

  it('passes on exit status 0 and keeps what the command printed', async () => {
    const step = await runIn(tmp(), '{ run: [sh, -c, "echo hello; echo oops >&2"], expect: "^hello$" }');
    expect(step.status).toBe('passed');
    expect(step.kind).toBe('host');
    expect(step.excerpt).toBe(`runner$ sh -c 'echo hello; echo oops >&2'\nhello\n\n[stderr]\noops\n\n(exit status 0)`);
  });

  it('fails the scenario, as the product, on a non-zero exit', async () => {
    const step = await runIn(tmp(), '{ run: [sh, -c, "echo gone; exit 3"] }');
    expect(step.status).toBe('failed');
    expect(step.message).toBe("`sh -c 'echo gone; exit 3'` on the runner exited with status 3");
    expect(step.excerpt).toContain('gone\n');
  });

  it('checks the output with expect and expect-not, against standard output', async () => {
    const dir = tmp();
    expect((await runIn(dir, '{ run: [echo, ready], expect: "^not ready$" }')).message).toMatch(/^Expected pattern: \/\^not ready\$\/l?m\n/);
    expect((await runIn(dir, '{ run: [echo, "panic: x"], expect-not: "panic" }')).status).toBe('failed');
    expect((await runIn(dir, '{ run: [sh, -c, "echo panic >&2"], expect-not: "panic" }')).status).toBe('passed');
  });

  it('passes every argument verbatim: spaces, quotes and shell characters reach the program untouched', async () => {
    const step = await runIn(tmp(), `{ run: [printf, "%s|", "a b", "it's", '"q"', "$HOME", "*", "; exit 1"] }`);
    expect(step.status).toBe('passed');
    expect(step.excerpt!.split('\n')[1]).toBe(`a b|it's|"q"|$HOME|*|; exit 1|`);
  });

  it("runs in the scenario file's folder, so relative paths are the file's", async () => {
    const dir = tmp();
    writeFileSync(join(dir, 'backing.img'), 'x'.repeat(100));
    const step = await runIn(dir, '{ run: [sh, -c, "pwd; wc -c < backing.img"], expect: "^100$" }');
    expect(step.status).toBe('passed');
    expect(step.excerpt!.split('\n')[1]).toBe(dir);
    // A scenario read from no file (built-in scenarios too) runs where the harness runs.
    const inline = parseScenario('x.yaml', 'name: x\nsteps:\n  - host: { run: [pwd] }\n');
    const result = await runScenario(inline, drivers, { progress: () => undefined });
    expect(result.steps[0]!.excerpt!.split('\n')[1]).toBe(process.cwd());
  });

  it('kills the whole process group at the deadline', async () => {
    const dir = tmp();
    const started = Date.now();
    const step = await runIn(dir, '{ run: [sh, -c, "sleep 30 & echo $! > sleeper; echo started; wait"], timeout: 500ms }');
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(step.status).toBe('failed');
    expect(step.message).toBe("`sh -c 'sleep 30 & echo $! > sleeper; echo started; wait'` on the runner did not finish within 500ms; it was killed with its process group");
    expect(step.excerpt).toContain('started\n');
    expect(step.excerpt).toContain('(killed at its deadline)');
    const sleeper = Number(readFileSync(join(dir, 'sleeper'), 'utf8'));
    await expect.poll(() => alive(sleeper), { timeout: 5_000 }).toBe(false);
  });

  it('leaves nothing running once the command exits', async () => {
    const dir = tmp();
    const started = Date.now();
    const step = await runIn(dir, '{ run: [sh, -c, "sleep 30 & echo $! > sleeper"], timeout: 20s }');
    expect(step.status).toBe('passed');
    expect(Date.now() - started).toBeLessThan(10_000);
    const sleeper = Number(readFileSync(join(dir, 'sleeper'), 'utf8'));
    await expect.poll(() => alive(sleeper), { timeout: 5_000 }).toBe(false);
  });

  it('keeps only the end of a long output', async () => {
    const step = await runIn(tmp(), '{ run: [sh, -c, "head -c 300000 /dev/zero | tr \'\\\\0\' x; echo; echo END"] }');
    expect(step.status).toBe('passed');
    expect(step.excerpt!.length).toBeLessThan(HOST_OUTPUT_BYTES + 200);
    expect(step.excerpt).toContain('(only the last 64 KiB of each stream is kept)');
    expect(step.excerpt).toMatch(/x\nEND\n\n\(exit status 0\)$/);
  });

  it('says so, as a configuration error of the file, when the program does not exist', async () => {
    const step = await runIn(tmp(), '{ run: [no-such-program-xpv, --help] }');
    expect(step.status).toBe('error');
    expect(step.errorKind).toBe('configuration');
    expect(step.message).toMatch(/^host\.yaml:3:11: run: cannot start no-such-program-xpv on the runner \(in \/.*\): no such program$/);
  });

  it("gets a workflow run step's environment, not the action's inputs and tokens", async () => {
    process.env.INPUT_XEN_REPO = 'https://user:secret@example.com/xen.git';
    process.env.ACTIONS_RUNTIME_TOKEN = 'secret';
    process.env.XPV_VISIBLE = 'yes';
    const step = await runIn(tmp(), '{ run: [sh, -c, "echo ${INPUT_XEN_REPO-none} ${ACTIONS_RUNTIME_TOKEN-none} $XPV_VISIBLE"], expect: "^none none yes$" }');
    expect(step.status).toBe('passed');
  });
});
