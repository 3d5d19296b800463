// `xen-pvh-virtio bisect` as a command: its command line (bad or missing input is exit 2 naming
// the flag, before anything is cloned or built), and the reports it leaves (bisect.md with the
// verdict on top, JUnit, the job summary and the step's outputs) with an injected step runner
// over a real git repository.
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cliMain } from '../../../src/cli/main-impl.js';
import { bisectCommand } from '../../../src/cli/bisect.js';
import { readJunit } from '../../../src/merge/junit.js';
import { validateJunit } from '../../support/junit.js';
import { fileRunner, series, verdicts, type Call } from '../bisect/series.js';

function io(cwd: string, env: NodeJS.ProcessEnv = {}) {
  let out = '';
  let err = '';
  return { out: (t: string) => void (out += t), err: (t: string) => void (err += t), cwd, env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env }, stdout: () => out, stderr: () => err };
}

describe('bisect on the command line', () => {
  const work = mkdtempSync(join(tmpdir(), 'xpv-bisect-cli-'));
  const cache = join(work, 'cache');
  const ok = ['--good', 'v1', '--bad', 'main', '--cache-dir', cache];
  const cases: [string[], RegExp][] = [
    [[], /^error: bisect needs a component, xen, qemu or linux: xen-pvh-virtio bisect COMPONENT/],
    [['kernel', 'boot-smoke', ...ok], /^error: bisect: unknown component "kernel"; expected xen, qemu or linux/],
    [['xen', ...ok], /^error: bisect needs the scenarios each step runs \(SCENARIO… or --scenarios\)/],
    [['xen', 'boot-smoke', '--bad', 'main'], /^error: --good: required: the last known good commit/],
    [['xen', 'boot-smoke', '--good', 'v1'], /^error: --bad: required: the first known bad commit/],
    [['xen', 'boot-smoke', ...ok, '--xen-ref', 'master'], /^error: --xen-ref: bisect tests the commits of xen between --good and --bad/],
    [['qemu', 'boot-smoke', ...ok, '--rig', 'debian'], /^error: --rig debian: bisecting qemu builds it from each commit, which only rig source does/],
    [['xen', 'boot-smoke', ...ok, '--repo', 'https://a.invalid/x.git', '--xen-repo', 'https://b.invalid/x.git'], /^error: --repo and --xen-repo each name the xen repository to bisect; give one/],
    [['xen', 'boot-smoke', ...ok, '--shard', '1/2'], /^error: --shard: bisect runs all the given scenarios/],
    [['xen', 'no-such-scenario', ...ok], /^error: --scenarios: unknown scenario no-such-scenario/],
    [['xen', 'boot-smoke', ...ok, '--timeout-minutes', 'soon'], /^error: --timeout-minutes: expected a whole number/],
    [['linux', 'boot-smoke', ...ok, '--kernel', 'debian'], /^error: --linux-path name a kernel to build, but --kernel is debian/],
    [['xen', 'boot-smoke', ...ok, '--goood', 'x'], /^error: Unknown option '--goood'/],
    // git would take it for an option of its own.
    [['xen', 'boot-smoke', ...ok, '--repo=--upload-pack=touch /tmp/x'], /^error: --repo --upload-pack=touch \/tmp\/x: not a repository URL or folder/],
  ];
  it.each(cases)('bisect %j: exit 2 naming what is wrong, nothing cloned', async (args, message) => {
    const x = io(work);
    expect(await cliMain(['bisect', ...args], x)).toBe(2);
    expect(x.stderr()).toMatch(message);
    expect(existsSync(join(cache, 'bisect'))).toBe(false);
  });

  it('bisect --help tells the flags and exit codes; --help lists bisect', async () => {
    const x = io(work);
    expect(await cliMain(['bisect', '--help'], x)).toBe(0);
    expect(x.stdout()).toMatch(/^Usage: xen-pvh-virtio bisect COMPONENT/);
    expect(x.stdout()).toContain('Exit codes: 1 the scenarios fail on bad');
    const top = io(work);
    expect(await cliMain(['--help'], top)).toBe(0);
    expect(top.stdout()).toContain('xen-pvh-virtio bisect COMPONENT [SCENARIO…] --good REF --bad REF');
  });
});

describe("bisect's reports", () => {
  async function bisectIn(content: (i: number) => string, extra: string[] = []) {
    const s = series(7, content);
    const work = mkdtempSync(join(tmpdir(), 'xpv-bisect-report-'));
    const summary = join(work, 'step-summary.md');
    const output = join(work, 'step-output');
    writeFileSync(summary, '');
    writeFileSync(output, '');
    const x = io(work, { GITHUB_STEP_SUMMARY: summary, GITHUB_OUTPUT: output });
    const calls: Call[] = [];
    const args = ['xen', 'virtio-pci-rescan-ping', '--good', s.ids[0]!, '--bad', 'main', '--repo', s.dir, '--qemu-path', s.dir, '--cache-dir', join(work, 'cache'), '--logs-dir', 'out/logs', '--junit-path', 'out/junit.xml', ...extra];
    const code = await bisectCommand(args, x, { runStep: fileRunner(calls) });
    const md = readFileSync(join(work, 'out/logs/bisect.md'), 'utf8');
    const xml = readFileSync(join(work, 'out/junit.xml'), 'utf8');
    return { s, code, md, xml, calls, stderr: x.stderr(), summary: readFileSync(summary, 'utf8'), output: readFileSync(output, 'utf8') };
  }

  /** The value a step output got in the runner's file format (name<<delimiter, value, delimiter). */
  const outputOf = (file: string, name: string) => new RegExp(`^${name}<<(\\S+)\\n([^]*?)\\n\\1$`, 'm').exec(file)?.[2];

  it('a culprit: exit 1, named at the top of bisect.md and the job summary, in the outputs and failing the JUnit report', async () => {
    const { s, code, md, xml, stderr, summary, output } = await bisectIn(verdicts(4));
    const culprit = s.ids[4]!;
    expect(code).toBe(1);
    const lines = md.split('\n');
    expect(lines[0]).toBe(`## xen-pvh-virtio bisect xen: first bad commit \`${culprit.slice(0, 12)}\` change 4`);
    expect(lines[2]).toContain(culprit);
    expect(lines[3]).toContain('xen-pvh-virtio test');
    expect(md).toMatch(/\| 1 \(bad end\) \| `\w{12}` \| change 7 \| ❌ bad \| virtio-pci-rescan-ping: ping domU: 100% packet loss \|/);
    expect(summary).toBe(md);
    expect(outputOf(output, 'verdict')).toBe('culprit');
    expect(outputOf(output, 'culprit')).toBe(culprit);
    expect(outputOf(output, 'culprit-subject')).toBe('change 4');
    expect(stderr).toContain(`first bad commit: ${culprit}\n    change 4\n    author: xen-pvh-virtio test <test@xen-pvh-virtio.invalid>`);

    validateJunit(xml);
    const report = readJunit(xml, 'junit.xml');
    expect(report.suites.map((x) => x.name)).toEqual(['bisect xen']);
    const cases = report.suites[0]!.cases;
    expect(cases[0]).toMatchObject({ name: expect.stringMatching(/^step 1 \(bad end\): \w{12} change 7$/), outcome: { element: 'failure', type: 'product' } });
    expect(cases[1]).toMatchObject({ name: expect.stringMatching(/^step 2 \(good end\)/) });
    expect(cases[1]!.outcome).toBeUndefined();
    expect(cases.at(-1)).toMatchObject({ name: 'first bad commit', outcome: { element: 'failure', message: expect.stringContaining(`first bad commit: ${culprit} change 4`) } });
    expect(report.suites[0]!.properties).toContainEqual(['bisect.culprit', culprit]);
  });

  it('skipped commits: inconclusive, exit 1, the candidates listed and skips with their reasons in JUnit', async () => {
    const { s, code, md, xml, output } = await bisectIn(verdicts(4, [3]));
    expect(code).toBe(1);
    expect(md.split('\n')[0]).toBe('## xen-pvh-virtio bisect xen: inconclusive, the first bad commit is one of 2');
    expect(md).toContain(s.ids[3]);
    expect(outputOf(output, 'verdict')).toBe('inconclusive');
    expect(outputOf(output, 'culprit')).toBe('');
    expect(outputOf(output, 'candidates')!.split(' ').sort()).toEqual([s.ids[3], s.ids[4]].sort());
    validateJunit(xml);
    const cases = readJunit(xml, 'junit.xml').suites[0]!.cases;
    expect(cases.find((c) => c.outcome?.element === 'skipped')?.outcome?.message).toBe('build failure: xen: make exited with 2');
  });

  it('scenarios that pass on bad: exit 0, "nothing to bisect", and the last case skipped', async () => {
    const { s, code, md, xml, calls } = await bisectIn(() => 'good');
    expect(code).toBe(0);
    expect(calls).toHaveLength(1);
    expect(md.split('\n')[0]).toBe(`## xen-pvh-virtio bisect xen: the scenarios pass on bad \`${s.ids[7]!.slice(0, 12)}\`, nothing to bisect`);
    validateJunit(xml);
    expect(readJunit(xml, 'junit.xml').suites[0]!.cases.at(-1)).toMatchObject({ name: 'first bad commit', outcome: { element: 'skipped' } });
  });

  it('scenarios that fail on good too: exit 1, "nothing to bisect"', async () => {
    const { code, md, xml } = await bisectIn(() => 'bad');
    expect(code).toBe(1);
    expect(md.split('\n')[0]).toMatch(/^## xen-pvh-virtio bisect xen: the scenarios fail on good `\w{12}` too, nothing to bisect$/);
    validateJunit(xml);
  });
});
