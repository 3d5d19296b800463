// The source provider's refs, against real git repositories made here: branches, tags
// (plain and annotated) and full commit ids resolve to commit ids; a shallow fetch gives
// exactly that commit; a bad ref or repository is a clear error naming the input, fast,
// before anything is fetched or built (also through the CLI).
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../../src/errors.js';
import { run } from '../../../src/host/exec.js';
import { fetchCommit, resolveRef, type GitInput } from '../../../src/rig/build/git.js';
import { startCli } from '../../support/cli.js';
import { GIT_ENV } from '../../support/source-repos.js';

let scratch: string;
let url: string;
const commits: string[] = [];


async function git(cwd: string, ...args: string[]): Promise<string> {
  return (await run('git', args, { cwd, env: GIT_ENV })).stdout.trim();
}

function input(ref: string, repo = url): GitInput {
  return { repoInput: 'xen-repo', refInput: 'xen-ref', repo, ref };
}

beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'source-refs-'));
  const repo = join(scratch, 'repo');
  await run('git', ['init', '-q', '-b', 'main', repo]);
  for (const n of [1, 2, 3]) {
    await writeFile(join(repo, 'file'), `revision ${n}\n`);
    await git(repo, 'add', 'file');
    await git(repo, 'commit', '-q', '-m', `revision ${n}`);
    commits.push(await git(repo, 'rev-parse', 'HEAD'));
  }
  await git(repo, 'tag', 'light', commits[0]!);
  await git(repo, 'tag', '-a', '-m', 'annotated', 'annotated', commits[1]!);
  await git(repo, 'branch', 'stable', commits[1]!);
  url = `file://${repo}`;
});

afterAll(async () => {
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

describe('source refs', () => {
  it('gives the same commit ids for the same content, names and dates', () => {
    expect(commits).toEqual([
      expect.stringMatching(/^[0-9a-f]{40}$/),
      expect.stringMatching(/^[0-9a-f]{40}$/),
      expect.stringMatching(/^[0-9a-f]{40}$/),
    ]);
    expect(new Set(commits).size).toBe(3);
  });

  it('resolves a branch, a plain tag, an annotated tag (peeled) and a full commit id', async () => {
    expect(await resolveRef(input('main'))).toMatchObject({ commit: commits[2], via: 'refs/heads/main' });
    expect(await resolveRef(input('stable'))).toMatchObject({ commit: commits[1], via: 'refs/heads/stable' });
    expect(await resolveRef(input('light'))).toMatchObject({ commit: commits[0], via: 'refs/tags/light' });
    expect(await resolveRef(input('annotated'))).toMatchObject({ commit: commits[1], via: 'refs/tags/annotated' });
    expect(await resolveRef(input('refs/heads/main'))).toMatchObject({ commit: commits[2] });
    expect(await resolveRef(input(commits[0]!))).toMatchObject({ commit: commits[0], via: 'commit' });
  });

  it('fetches exactly the resolved commit with depth 1, by name and by id (not only tips)', async () => {
    for (const [ref, n] of [['annotated', 1], [commits[0]!, 0], ['main', 2]] as const) {
      const dir = join(scratch, `fetch-${n}`);
      await fetchCommit(await resolveRef(input(ref)), dir);
      expect(await git(dir, 'rev-parse', 'HEAD')).toBe(commits[n]);
      expect(await readFile(join(dir, 'file'), 'utf8')).toBe(`revision ${n + 1}\n`);
      expect(await git(dir, 'rev-list', '--count', 'HEAD')).toBe('1');
    }
  });

  it('names the ref input when a branch or tag does not exist', async () => {
    const err = await resolveRef(input('no-such-branch')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).toBe(`input xen-ref (--xen-ref) = no-such-branch: no such branch or tag in ${url} (and not a full commit id)`);
  });

  it('names the ref input when an abbreviated commit id is given', async () => {
    const err = await resolveRef(input(commits[0]!.slice(0, 12))).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).toMatch(/^input xen-ref \(--xen-ref\) = [0-9a-f]{12}: an abbreviated commit id cannot be fetched shallowly/);
  });

  it('names the ref input when a full commit id is not in the repository (at fetch time)', async () => {
    const missing = 'f'.repeat(40);
    const resolved = await resolveRef(input(missing));
    const err = await fetchCommit(resolved, join(scratch, 'fetch-missing')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).toMatch(new RegExp(`^input xen-ref \\(--xen-ref\\) = ${missing}: git fetch --depth 1 ${url} ${missing} failed`));
  });

  it('names the repository input when the repository does not exist', async () => {
    const bad = `file://${join(scratch, 'no-such-repo')}`;
    const err = await resolveRef(input('main', bad)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).toMatch(new RegExp(`^input xen-repo \\(--xen-repo\\) = ${bad}: git ls-remote failed \\(exit 128\\):\\n.*does not appear to be a git repository`));
  });
});

describe('source rig through the CLI', () => {
  it('stops with exit 2 and the input named for a bad ref, before fetching or building', { timeout: 120_000 }, async () => {
    const started = Date.now();
    const cli = startCli(['run', 'boot-smoke', '--rig', 'source', '--xen-repo', url, '--xen-ref', 'no-such-branch', '--qemu-repo', url, '--qemu-ref', 'main']);
    const { code } = await cli.done;
    expect(code, cli.stderr()).toBe(2);
    expect(cli.stderr()).toContain('input xen-ref (--xen-ref) = no-such-branch: no such branch or tag');
    expect(cli.stderr()).not.toMatch(/fetching|building/);
    expect(Date.now() - started).toBeLessThan(60_000);
  });

  it('stops with exit 2 and the input named for a bad repository', { timeout: 120_000 }, async () => {
    const bad = `file://${join(scratch, 'no-such-repo')}`;
    const cli = startCli(['run', 'boot-smoke', '--rig', 'source', '--xen-repo', url, '--xen-ref', 'main', '--qemu-repo', bad, '--qemu-ref', 'main']);
    const { code } = await cli.done;
    expect(code, cli.stderr()).toBe(2);
    expect(cli.stderr()).toContain(`input qemu-repo (--qemu-repo) = ${bad}: git ls-remote failed`);
    expect(cli.stderr()).not.toMatch(/fetching|building/);
  });
});
