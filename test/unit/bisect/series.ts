// Small real git repositories for the bisect tests: a base commit and a series after it, each
// commit carrying a file that says how a test of it ends (the injected step runners read it
// from the checkout, so git's side of the bisection is real).
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'vitest';
import type { StepRunner } from '../../../src/bisect/index.js';
import { GIT_ENV } from '../../support/source-repos.js';

export const ENV = { ...process.env, ...GIT_ENV };

export const git = (cwd: string, ...args: string[]) => execFileSync('git', args, { cwd, env: ENV, encoding: 'utf8' }).trim();

export interface Series {
  dir: string;
  /** ids[0] is the base; ids[i] the i-th commit of the series. */
  ids: string[];
}

/**
 * A repository whose base commit and series commits hold `file` with what `content(i)` says
 * (i = 0 for the base). Commit i's subject is `change i`.
 */
export function series(n: number, content: (i: number) => string, file = 'verdict'): Series {
  const dir = mkdtempSync(join(tmpdir(), 'xpv-bisect-repo-'));
  git(dir, 'init', '-q', '-b', 'main');
  const ids: string[] = [];
  for (let i = 0; i <= n; i++) {
    writeFileSync(join(dir, file), content(i));
    mkdirSync(join(dir, 'src'), { recursive: true });
    writeFileSync(join(dir, 'src', 'counter.c'), `int counter = ${i};\n`);
    git(dir, 'add', '-A');
    git(dir, 'commit', '-q', '-m', i === 0 ? 'base' : `change ${i}`);
    ids.push(git(dir, 'rev-parse', 'HEAD'));
  }
  return { dir, ids };
}

/** good up to (not including) `firstBad`, bad from it on, `skip` where listed. */
export function verdicts(firstBad: number, skip: number[] = []): (i: number) => string {
  return (i) => (skip.includes(i) ? 'skip' : i >= firstBad ? 'bad' : 'good');
}

/** The bisection's clone: every checkout it made is gone, and git has no bisect state left. */
export function expectCleanWorkspace(cacheDir: string): void {
  const [hash] = readdirSync(join(cacheDir, 'bisect'));
  const base = join(cacheDir, 'bisect', hash!);
  expect(readdirSync(join(base, 'checkouts'))).toEqual([]);
  const gitDir = join(base, 'repo.git');
  expect(git(gitDir, 'worktree', 'list', '--porcelain').split('\n').filter((l) => l.startsWith('worktree '))).toHaveLength(1);
  expect(git(gitDir, 'for-each-ref', 'refs/bisect')).toBe('');
  expect(existsSync(join(gitDir, 'worktrees'))).toBe(false);
}

export interface Call {
  n: number;
  commit: string;
  head: string;
}

/** Decides each step by the checkout's `verdict` file, and records what it was asked and what was checked out. */
export function fileRunner(calls: Call[]): StepRunner {
  return async (step) => {
    calls.push({ n: step.n, commit: step.commit, head: git(step.worktree, 'rev-parse', 'HEAD') });
    const v = readFileSync(join(step.worktree, 'verdict'), 'utf8').trim();
    if (v === 'skip') return { verdict: 'skip', reason: 'build failure: xen: make exited with 2' };
    if (v === 'bad') return { verdict: 'bad', reason: 'virtio-pci-rescan-ping: ping domU: 100% packet loss' };
    return { verdict: 'good' };
  };
}
