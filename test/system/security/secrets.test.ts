// Finding 5: what must never reach a log, a report or an artifact: credentials in repository
// URLs, the run's private key. (Saved states' modes: test/run/snapshot.test.ts; the repro
// folder without the private key: test/run/repro.test.ts.)
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildJunit, buildSummary } from '../../../src/report/index.js';
import type { RunResult } from '../../../src/scenario/result.js';
import { originText, originVersions, type TreeOrigin } from '../../../src/rig/build/origin.js';
import { credentialsIn, redactCredentials } from '../../../src/secrets.js';

const root = resolve(__dirname, '../../..');
const TOKEN = 's3cr3t-t0ken';
// A closed port: git fails at once, after it has printed the URL in its own words.
const repo = (name: string) => `https://xpv-user:${TOKEN}@127.0.0.1:9/${name}.git`;

function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? filesUnder(join(dir, e.name)) : [join(dir, e.name)]));
}

describe('credentials in repository URLs', () => {
  it('never reach the CLI output, the JUnit, the summary or any file in logs-dir', () => {
    const dir = mkdtempSync(join(tmpdir(), 'xpv-secrets-'));
    const logsDir = join(dir, 'logs');
    const junit = join(dir, 'junit.xml');
    const repos = ['--xen-repo', repo('xen'), '--qemu-repo', repo('qemu')];
    const plan = spawnSync(process.execPath, [join(root, 'dist/cli.js'), 'plan', '--rig', 'source', ...repos], { cwd: root, encoding: 'utf8' });
    expect(plan.status, plan.stderr).toBe(0);
    expect(plan.stdout).toContain('repo: https://***@127.0.0.1:9/xen.git');
    const run = spawnSync(
      process.execPath,
      [join(root, 'dist/cli.js'), 'run', 'boot-smoke', '--rig', 'source', ...repos, '--logs-dir', logsDir, '--junit-path', junit, '--cache-dir', join(dir, 'cache')],
      { cwd: root, encoding: 'utf8', timeout: 120_000 },
    );
    expect(run.status, run.stderr).toBe(3);
    // git's own message names the URL; we print it redacted.
    expect(run.stderr).toMatch(/https:\/\/\*\*\*@127\.0\.0\.1:9\/(xen|qemu)\.git/);
    const written = [junit, ...filesUnder(logsDir), ...filesUnder(join(dir, 'cache')).filter((f) => statSync(f).size < 1 << 20)];
    expect(written).toContain(join(logsDir, 'summary.md'));
    for (const text of [plan.stdout, plan.stderr, run.stdout, run.stderr, ...written.map((f) => readFileSync(f, 'latin1'))]) {
      expect(text).not.toContain(TOKEN);
      expect(text).not.toContain('xpv-user');
    }
  });

  it('are redacted where text about a repository is formed, and in both reports', () => {
    const origin: TreeOrigin = { kind: 'git', ref: { repoInput: 'xen-repo', refInput: 'xen-ref', repo: repo('xen'), ref: 'master', commit: 'a'.repeat(40), via: 'refs/heads/master' } };
    expect(originText(origin)).toBe(`https://***@127.0.0.1:9/xen.git master = ${'a'.repeat(40)}`);
    expect(originVersions('xen', origin)['xen-repo']).toBe('https://***@127.0.0.1:9/xen.git');
    const message = `fatal: unable to access '${repo('xen')}/': Connection refused`;
    const result: RunResult = {
      scenarios: [{ name: 'seed', file: 'seed.yaml', status: 'error', durationMs: 1, steps: [{ title: 'fetch', kind: 'ssh', status: 'error', durationMs: 1, message, output: message }] }],
      phases: [],
      timeline: [],
      properties: { 'rig.request': repo('xen') },
      fatal: { status: 'error', message },
    } as unknown as RunResult;
    const junit = buildJunit(result);
    const summary = buildSummary(result, { junitPath: 'j.xml', logsDir: 'logs' });
    expect(junit).toContain('https://***@127.0.0.1:9/xen.git');
    expect(summary).toContain('https\\://\\*\\*\\*\\@127.0.0.1:9/xen.git');
    for (const text of [junit, summary]) expect(text).not.toContain(TOKEN);
  });

  it('are found for the runner to mask, raw and decoded', () => {
    expect(credentialsIn('https://x-access-token:ab%2Fcd@example.org/r.git').sort()).toEqual(['ab%2Fcd', 'ab/cd', 'x-access-token']);
    expect(credentialsIn('https://example.org/r.git')).toEqual([]);
    expect(credentialsIn('not a url')).toEqual([]);
    expect(redactCredentials('git@example.org:r.git and ssh://u@h/x')).toBe('git@example.org:r.git and ssh://***@h/x');
  });
});
