// A component build step as a user waiting on a ten-minute build meets it: the log file
// grows while the step runs, and a line says it is still running, with the log's last line.
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { InfraError } from '../../../src/errors.js';
import { ComponentBuild } from '../../../src/rig/build/component.js';
import { withLogGroups } from '../../../src/host/log-groups.js';

describe('a component build step', () => {
  it('writes its log while it runs and says every interval that it is still running', async () => {
    const lines: string[] = [];
    const build = await ComponentBuild.start(mkdtempSync(join(tmpdir(), 'xpv-step-')), 'demo', 'k'.repeat(64), (l) => lines.push(l));
    build.progressMs = 300;
    const log = join(build.logs, 'demo.log');
    const step = build.step('three slow lines', 'demo.log', 'sh', ['-c', 'echo first; sleep 1; echo second; sleep 1; echo third']);
    // Mid-run, the log already holds what the step printed so far.
    await new Promise((r) => setTimeout(r, 700));
    expect(existsSync(log)).toBe(true);
    const sofar = readFileSync(log, 'utf8').split('\n');
    expect(sofar).toContain('first');
    expect(sofar).not.toContain('third');
    await step;
    const progress = lines.filter((l) => l.startsWith('demo: three slow lines: still running after '));
    expect(progress.length).toBeGreaterThanOrEqual(4);
    expect(progress.some((l) => l.endsWith('; last line: second'))).toBe(true);
    const text = readFileSync(log, 'utf8');
    expect(text).toMatch(/^\$ sh -c echo first; sleep 1; echo second; sleep 1; echo third\ncwd: /);
    expect(text).toMatch(/first\nsecond\nthird\n\nexit: 0 after \d+\.\d s\n$/);
    expect(lines.at(-1)).toMatch(/^demo: three slow lines done in \d+ s$/);
  });

  it('folds into a log group of its own where the run folds build steps (Actions), its lines inside', async () => {
    const out: string[] = [];
    const build = await ComponentBuild.start(mkdtempSync(join(tmpdir(), 'xpv-step-')), 'demo', 'k'.repeat(64), (l) => out.push(l));
    const group = async <T>(title: string, fn: () => Promise<T>): Promise<T> => {
      out.push(`::group::${title}`);
      try {
        return await fn();
      } finally {
        out.push('::endgroup::');
      }
    };
    await withLogGroups(group, () => build.step('configure', 'configure.log', 'true', []));
    expect(out[0]).toBe('::group::demo: configure');
    expect(out[1]).toMatch(/^demo: configure… \(full log: .*configure\.log\)$/);
    expect(out.at(-2)).toMatch(/^demo: configure done in \d+ s$/);
    expect(out.at(-1)).toBe('::endgroup::');
    // Without a way to fold (the CLI), the same lines come unfolded.
    out.length = 0;
    await build.step('make', 'make.log', 'true', []);
    expect(out.some((l) => l.startsWith('::'))).toBe(false);
  });

  it("fails with the step's name, exit status and the log's last lines", async () => {
    const build = await ComponentBuild.start(mkdtempSync(join(tmpdir(), 'xpv-step-')), 'demo', 'k'.repeat(64), () => undefined);
    const err = await build.step('a failing step', 'fail.log', 'sh', ['-c', 'echo compiling; echo "error: nope" >&2; exit 3']).then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(err).toBeInstanceOf(InfraError);
    expect(err!.message).toMatch(/^demo: a failing step failed \(exit 3, \d+ s\); last 30 lines of .*fail\.log:\ncompiling\nerror: nope$/);
  });
});
