// The real step runner with a stand-in for the CLI: a small Node script that, like a run, takes
// the step's options, writes result.json into its logs-dir and exits with a code, as the
// checked-out tree's fake.json tells it. What is tested is the classification of how a run
// ended and the handling of the child process (its log, its environment, a stop killing its
// whole process group), not the product.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { bisect, childStepRunner, type BisectRequest, type StepOutcome } from '../../../src/bisect/index.js';
import { ConfigError } from '../../../src/errors.js';
import { identify } from '../../../src/host/process-identity.js';
import { writeResultFile } from '../../../src/report/result-file.js';
import type { RunResult, Status } from '../../../src/scenario/result.js';
import { expectCleanWorkspace, series } from './series.js';

const root = mkdtempSync(join(tmpdir(), 'xpv-bisect-step-'));

const FAKE_CLI = join(root, 'fake-cli.mjs');
writeFileSync(
  FAKE_CLI,
  `import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
const args = process.argv.slice(2);
console.log(JSON.stringify({ args, summary: process.env.GITHUB_STEP_SUMMARY ?? null, output: process.env.GITHUB_OUTPUT ?? null }));
const opt = (name) => args.find((a) => a.startsWith('--' + name + '='))?.slice(name.length + 3);
const plan = JSON.parse(readFileSync(join(opt('xen-path'), 'fake.json'), 'utf8'));
if (plan.result) writeFileSync(join(opt('logs-dir'), 'result.json'), plan.result);
if (plan.say) process.stderr.write(plan.say + '\\n');
if (plan.hang) {
  const sleeper = spawn('sleep', ['1000'], { stdio: 'ignore' });
  process.on('SIGTERM', () => {
    appendFileSync(join(plan.hang, 'signals'), 'SIGTERM\\n');
    if (!plan.ignoreTerm) process.exit(143);
  });
  writeFileSync(join(plan.hang, 'pids'), process.pid + ' ' + sleeper.pid);
  setInterval(() => {}, 1000);
} else process.exitCode = plan.exit;
`,
);

/** A result.json as a run writes it, with `builds` added the way a run that records them does. */
function resultJson(scenarios: [name: string, status: Status, message?: string][], extra: Partial<RunResult> & { builds?: unknown[] } = {}): string {
  const dir = mkdtempSync(join(root, 'result-'));
  const { builds, ...rest } = extra;
  const result: RunResult = {
    scenarios: scenarios.map(([name, status, message]) => ({
      name,
      file: `scenarios/${name}.yaml`,
      status,
      ...(status === 'skipped' ? { skipReason: message } : {}),
      startedAt: new Date('2026-01-01T00:00:00Z'),
      durationMs: 1000,
      steps: [
        { title: 'dom0 shell', kind: 'wait', status: 'passed', durationMs: 10 },
        { title: 'ping domU', kind: 'ssh', status: status === 'skipped' ? 'skipped' : status, durationMs: 10, ...(message && status !== 'skipped' ? { message } : {}) },
      ],
    })),
    timeline: [],
    phases: [],
    properties: {},
    ...rest,
  };
  const file = writeResultFile(dir, result);
  if (!builds) return readFileSync(file, 'utf8');
  const doc = JSON.parse(readFileSync(file, 'utf8')) as { result: Record<string, unknown> };
  doc.result.builds = builds;
  return JSON.stringify(doc);
}

const request = (logsDir: string): BisectRequest => ({
  component: 'xen',
  repo: '/nowhere',
  good: 'good',
  bad: 'bad',
  labels: { repo: '--repo', good: '--good', bad: '--bad' },
  scenarios: 'boot-smoke',
  cacheDir: join(root, 'cache'),
  cwd: root,
  logsDir,
  junitPath: join(logsDir, 'junit.xml'),
  runOptions: { rig: 'source', 'cache-dir': join(root, 'cache'), 'fail-on-warnings': 'true' },
});

let made = 0;
/** One step of the real runner on a tree whose fake.json is `plan`. */
async function step(plan: object, opts: { signal?: AbortSignal; before?: (dir: string) => void } = {}): Promise<StepOutcome & { dir: string }> {
  const n = ++made;
  const tree = join(root, `tree-${n}`);
  mkdirSync(tree);
  writeFileSync(join(tree, 'fake.json'), JSON.stringify(plan));
  const logsDir = join(root, `logs-${n}`);
  const dir = join(logsDir, 'step-1');
  opts.before?.(dir);
  const runner = childStepRunner(request(logsDir), {
    cli: { node: process.execPath, script: FAKE_CLI },
    env: { ...process.env, GITHUB_STEP_SUMMARY: join(root, 'summary'), GITHUB_OUTPUT: join(root, 'output') },
    cwd: root,
    graceMs: 500,
  });
  const outcome = await runner({ n: 1, commit: 'c0ffee', worktree: tree, dir, signal: opts.signal ?? new AbortController().signal });
  return { ...outcome, dir };
}

async function gone(pid: number): Promise<boolean> {
  for (let i = 0; i < 50 && identify(pid); i++) await new Promise((r) => setTimeout(r, 100));
  return identify(pid) === undefined;
}

describe("a step's verdict from its run's exit code and result.json", () => {
  it('0 with every scenario passed is good; the run got the step\'s options, its log is kept, and no summary or output file of ours', async () => {
    const out = await step({ exit: 0, result: resultJson([['boot-smoke', 'passed']]) });
    expect(out).toMatchObject({ verdict: 'good', log: join(out.dir, 'cli.log') });
    const log = readFileSync(out.log!, 'utf8');
    const said = JSON.parse(log.split('\n')[1]!) as { args: string[]; summary: string | null; output: string | null };
    expect(said.args).toEqual([
      'run',
      '--rig=source',
      `--cache-dir=${join(root, 'cache')}`,
      '--fail-on-warnings=true',
      '--scenarios=boot-smoke',
      `--xen-path=${join(root, `tree-${made}`)}`,
      `--logs-dir=${out.dir}`,
      `--junit-path=${join(out.dir, 'junit.xml')}`,
    ]);
    expect(said.summary).toBeNull();
    expect(said.output).toBeNull();
    // The log starts with the command line it ran.
    expect(log.split('\n')[0]).toMatch(/^\$ \S+ \S+fake-cli\.mjs run --rig=source /);
  });

  it('0 with a scenario skipped (the rig lacks a capability) is a skip, not good', async () => {
    const out = await step({ exit: 0, result: resultJson([['virtio-pci-grants', 'skipped', 'the rig lacks virtio-grants']]) });
    expect(out).toMatchObject({ verdict: 'skip', reason: 'scenario virtio-pci-grants was skipped: the rig lacks virtio-grants' });
  });

  it('0 without a result.json is a skip; an earlier bisection\'s result.json in the same folder does not count', async () => {
    const out = await step({ exit: 0 }, {
      before: (dir) => {
        mkdirSync(dir, { recursive: true });
        writeFileSync(join(dir, 'result.json'), resultJson([['boot-smoke', 'passed']]));
      },
    });
    expect(out).toMatchObject({ verdict: 'skip', reason: 'the run passed but left no result.json to confirm it' });
  });

  it("1 is bad, with the failed step's message", async () => {
    const out = await step({ exit: 1, result: resultJson([['boot-smoke', 'passed'], ['virtio-pci-rescan-ping', 'failed', '100% packet loss\n(console tail …)']]) });
    expect(out).toMatchObject({ verdict: 'bad', reason: 'virtio-pci-rescan-ping: ping domU: 100% packet loss' });
  });

  it('1 with a failed build is a skip saying so, not bad', async () => {
    const out = await step({
      exit: 1,
      result: resultJson([], {
        fatal: { status: 'failed', message: 'xen did not build' },
        builds: [
          { component: 'qemu', status: 'passed', cached: true, durationMs: 1 },
          { component: 'xen', status: 'failed', cached: false, durationMs: 9000, message: 'make -C xen exited with 2\narch/arm/setup.c:12: error' },
        ],
      }),
    });
    expect(out).toMatchObject({ verdict: 'skip', reason: 'build failure: xen: make -C xen exited with 2' });
  });

  it('3 is a skip with the infrastructure error: the fatal one, or the first errored step, or what the CLI printed', async () => {
    const fatal = await step({ exit: 3, result: resultJson([], { fatal: { status: 'error', message: 'QEMU did not start: port 2222 busy' } }) });
    expect(fatal).toMatchObject({ verdict: 'skip', reason: 'infrastructure error: QEMU did not start: port 2222 busy' });
    const errored = await step({ exit: 3, result: resultJson([['boot-smoke', 'error', 'ssh never answered']]) });
    expect(errored).toMatchObject({ verdict: 'skip', reason: 'infrastructure error: boot-smoke: ping domU: ssh never answered' });
    const printed = await step({ exit: 3, say: 'infrastructure error: cannot run git: ENOENT' });
    expect(printed).toMatchObject({ verdict: 'skip', reason: 'infrastructure error: cannot run git: ENOENT' });
  });

  it('2 stops the bisection with a ConfigError quoting the run', async () => {
    const e = await step({ exit: 2, say: 'error: --xen-patches: no patch file matches fix.patch' }).then(
      () => undefined,
      (x: unknown) => x,
    );
    expect(e).toBeInstanceOf(ConfigError);
    expect((e as Error).message).toMatch(/^the run refused its input \(exit 2\), and every step would: --xen-patches: no patch file matches fix\.patch \(log .*cli\.log\)$/);
  });
});

describe('a stop during a step', () => {
  it('SIGTERM reaches the whole process group: the run and what it started end, and the step says it was stopped', async () => {
    const pids = mkdtempSync(join(root, 'pids-'));
    const stop = new AbortController();
    const watch = setInterval(() => existsSync(join(pids, 'pids')) && stop.abort('SIGTERM'), 50);
    const out = await step({ hang: pids }, { signal: stop.signal }).finally(() => clearInterval(watch));
    expect(out).toMatchObject({ verdict: 'skip', reason: 'stopped' });
    expect(readFileSync(join(pids, 'signals'), 'utf8')).toBe('SIGTERM\n');
    for (const pid of readFileSync(join(pids, 'pids'), 'utf8').split(' ').map(Number)) expect(await gone(pid), `pid ${pid}`).toBe(true);
  });

  it('a run that ignores SIGTERM is killed once its grace is over', async () => {
    const pids = mkdtempSync(join(root, 'pids-'));
    const stop = new AbortController();
    const watch = setInterval(() => existsSync(join(pids, 'pids')) && stop.abort('SIGTERM'), 50);
    const t0 = Date.now();
    const out = await step({ hang: pids, ignoreTerm: true }, { signal: stop.signal }).finally(() => clearInterval(watch));
    expect(out.verdict).toBe('skip');
    expect(Date.now() - t0).toBeLessThan(10_000);
    for (const pid of readFileSync(join(pids, 'pids'), 'utf8').split(' ').map(Number)) expect(await gone(pid), `pid ${pid}`).toBe(true);
  });

  it('in the middle of git bisect: the child is killed, the bisect reset, the checkout removed, and the steps so far reported', async () => {
    const pids = mkdtempSync(join(root, 'pids-'));
    const plan = (i: number) =>
      JSON.stringify(
        i === 0 ? { exit: 0, result: resultJson([['boot-smoke', 'passed']]) } : i === 7 ? { exit: 1, result: resultJson([['boot-smoke', 'failed', 'no shell']]) } : { hang: pids },
      );
    const s = series(7, plan, 'fake.json');
    const logsDir = mkdtempSync(join(root, 'logs-'));
    const req: BisectRequest = { ...request(logsDir), repo: s.dir, good: s.ids[0]!, bad: s.ids[7]!, cacheDir: mkdtempSync(join(root, 'cache-')) };
    const stop = new AbortController();
    const watch = setInterval(() => existsSync(join(pids, 'pids')) && stop.abort('SIGTERM'), 50);
    const runStep = childStepRunner(req, { cli: { node: process.execPath, script: FAKE_CLI }, env: process.env, cwd: root, graceMs: 500 });
    const result = await bisect(req, { runStep, log: () => {}, signal: stop.signal }).finally(() => clearInterval(watch));
    expect(result.verdict).toEqual({ kind: 'stopped', cause: 'interrupted', reason: 'stopped by SIGTERM during step 3' });
    expect(result.steps.map((x) => [x.role, x.verdict])).toEqual([
      ['bad end', 'bad'],
      ['good end', 'good'],
      ['bisect', 'skip'],
    ]);
    expect(readFileSync(join(pids, 'signals'), 'utf8')).toBe('SIGTERM\n');
    for (const pid of readFileSync(join(pids, 'pids'), 'utf8').split(' ').map(Number)) expect(await gone(pid), `pid ${pid}`).toBe(true);
    expectCleanWorkspace(req.cacheDir);
  });
});
