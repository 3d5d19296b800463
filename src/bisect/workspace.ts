// The repository a bisection walks: a full clone (bare, every branch and tag) under
// `<cache-dir>/bisect/<hash of the repository>/`, made once and fetched again when a ref asks
// for it, so the next bisection of the same repository starts at once. Commits are checked
// out in worktrees of their own beside it (`checkouts/<pid>-<n>`), never in the user's tree.
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readdirSync, realpathSync, statSync, writeFileSync } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { ConfigError, InfraError } from '../errors.js';
import { markUsed } from '../cache/usage.js';
import { processAlive } from '../host/process-identity.js';
import { redactCredentials } from '../secrets.js';
import { FULL_ID, git, gitSaid } from './git.js';
import type { CommitInfo } from './result.js';

/** A repository given as a local folder rather than a URL (`file://` counts as a URL). */
function localFolder(repo: string, cwd: string): string | undefined {
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(repo) || /^[^/]+@[^/:]+:/.test(repo)) return undefined;
  const path = resolve(cwd, repo);
  return existsSync(path) && statSync(path).isDirectory() ? realpathSync(path) : undefined;
}

export class Workspace {
  private fetched = false;

  private constructor(
    /** The bare clone. */
    readonly gitDir: string,
    private readonly base: string,
    /** The URL, or the absolute path of a local checkout. */
    readonly source: string,
    readonly local: boolean,
    /** How the user named the repository, for errors: "--repo", "--xen-repo". */
    readonly label: string,
  ) {}

  /** The repository as shown to people. */
  get shownAs(): string {
    return redactCredentials(this.source);
  }

  /** Opens (cloning on first use) the workspace of `repo` under `cacheDir`. */
  static async open(repo: string, where: { cacheDir: string; cwd: string; label: string; log: (line: string) => void }): Promise<Workspace> {
    const folder = localFolder(repo, where.cwd);
    const source = folder ?? repo;
    const base = join(where.cacheDir, 'bisect', createHash('sha256').update(source).digest('hex').slice(0, 16));
    const gitDir = join(base, 'repo.git');
    const ws = new Workspace(gitDir, base, source, folder !== undefined, where.label);
    if (!existsSync(join(gitDir, 'HEAD'))) await ws.clone(where.log);
    // The cache's budget removes the least recently used clone first, never one a live bisection works in.
    markUsed(where.cacheDir, base);
    await ws.dropStaleCheckouts();
    return ws;
  }

  /** A full clone made beside its place and renamed in: an interrupted clone leaves nothing half-made at `gitDir`. */
  private async clone(log: (line: string) => void): Promise<void> {
    log(`cloning ${this.shownAs} (all branches and tags) into ${this.gitDir}; later bisections of it reuse the clone`);
    await mkdir(this.base, { recursive: true });
    writeFileSync(join(this.base, 'repository'), `${this.shownAs}\n`);
    const partial = `${this.gitDir}.partial-${process.pid}`;
    await rm(partial, { recursive: true, force: true });
    await git(this.base, ['init', '-q', '--bare', partial], { check: true });
    await git(partial, ['remote', 'add', 'origin', this.source], { check: true });
    // Branches map onto branches, so `master` means the remote's master after every fetch.
    await git(partial, ['config', 'remote.origin.fetch', '+refs/heads/*:refs/heads/*'], { check: true });
    const r = await git(partial, ['fetch', '-q', '--tags', 'origin']);
    if (r.exitCode !== 0) {
      await rm(partial, { recursive: true, force: true });
      throw new ConfigError(`${this.label} ${this.shownAs}: cannot clone it: ${redactCredentials(gitSaid(r))}`);
    }
    try {
      await rename(partial, this.gitDir);
    } catch (e) {
      // Another bisection of the same repository cloned it first: theirs is as good.
      await rm(partial, { recursive: true, force: true });
      if (!existsSync(join(this.gitDir, 'HEAD'))) throw e;
    }
    this.fetched = true;
  }

  /** Fetches new branches, tags and commits, once per bisection. */
  private async fetch(): Promise<void> {
    if (this.fetched) return;
    this.fetched = true;
    const r = await git(this.gitDir, ['fetch', '-q', '--prune', '--tags', 'origin']);
    if (r.exitCode !== 0) throw new InfraError(`cannot fetch ${this.shownAs}: ${redactCredentials(gitSaid(r))}`);
  }

  private async revParse(ref: string): Promise<string | undefined> {
    if (ref.startsWith('-')) return undefined;
    const r = await git(this.gitDir, ['rev-parse', '--verify', '--quiet', '--end-of-options', `${ref}^{commit}`]);
    return r.exitCode === 0 ? r.stdout.trim() : undefined;
  }

  /**
   * The commit id `ref` names (a branch, a tag, a commit id, `ref~3`…); a ConfigError naming
   * `label` (--good, --bad) when the repository has no such commit. A local checkout's own
   * names (HEAD, its remote-tracking branches) are read in the checkout itself.
   */
  async resolve(ref: string, label: string): Promise<string> {
    const missing = () => new ConfigError(`${label} ${ref}: no such branch, tag or commit in ${this.shownAs}`);
    if (ref.trim() === '' || ref.startsWith('-')) throw missing();
    let id: string | undefined;
    if (this.local) {
      const r = await git(this.source, ['-c', `safe.directory=${this.source}`, 'rev-parse', '--verify', '--quiet', '--end-of-options', `${ref}^{commit}`]);
      if (r.exitCode !== 0) throw missing();
      id = r.stdout.trim();
      if (!(await this.revParse(id))) await this.fetchCommit(id);
    } else {
      // A branch moves: fetch first. A commit id already here is what it is.
      if (!FULL_ID.test(ref) || !(await this.revParse(ref))) await this.fetch();
      id = await this.revParse(ref);
      // A commit on no branch or tag (a pull request's head): asked for by its id.
      if (!id && FULL_ID.test(ref)) {
        await this.fetchCommit(ref);
        id = await this.revParse(ref);
      }
    }
    if (!id) throw missing();
    return id;
  }

  private async fetchCommit(id: string): Promise<void> {
    await git(this.gitDir, ['fetch', '-q', 'origin', id]);
  }

  async isAncestor(older: string, newer: string): Promise<boolean> {
    const r = await git(this.gitDir, ['merge-base', '--is-ancestor', older, newer]);
    if (r.exitCode > 1) throw new InfraError(`git merge-base in ${this.gitDir}: ${gitSaid(r)}`);
    return r.exitCode === 0;
  }

  /** Commits in good..bad: where the first bad commit can be. */
  async countBetween(good: string, bad: string): Promise<number> {
    const r = await git(this.gitDir, ['rev-list', '--count', `${good}..${bad}`], { check: true });
    return Number(r.stdout.trim());
  }

  async commitInfo(id: string): Promise<CommitInfo> {
    const r = await git(this.gitDir, ['show', '-s', '--format=%H%x00%s%x00%an <%ae>%x00%aI', id], { check: true });
    const [full, subject, author, date] = r.stdout.replace(/\n$/, '').split('\0');
    return { id: full!, subject: subject ?? '', author: author ?? '', date: date ?? '' };
  }

  /** A new worktree with `commit` checked out (detached), for this bisection alone. */
  async addCheckout(commit: string): Promise<string> {
    const dir = join(this.base, 'checkouts', `${process.pid}-${randomBytes(4).toString('hex')}`);
    await mkdir(join(this.base, 'checkouts'), { recursive: true });
    const r = await git(this.gitDir, ['worktree', 'add', '-q', '--detach', dir, commit]);
    if (r.exitCode !== 0) throw new InfraError(`cannot check out ${commit} in ${dir}: ${gitSaid(r)}`);
    return dir;
  }

  async removeCheckout(dir: string): Promise<void> {
    await git(this.gitDir, ['worktree', 'remove', '--force', dir]);
    await rm(dir, { recursive: true, force: true });
    await git(this.gitDir, ['worktree', 'prune']);
  }

  /** Checkouts left by a bisection that was killed (its process is gone). */
  private async dropStaleCheckouts(): Promise<void> {
    const dir = join(this.base, 'checkouts');
    const names = existsSync(dir) ? readdirSync(dir) : [];
    for (const name of names) {
      const pid = Number(/^(\d+)-/.exec(name)?.[1]);
      if (pid && pid !== process.pid && !processAlive(pid)) await rm(join(dir, name), { recursive: true, force: true });
    }
    await git(this.gitDir, ['worktree', 'prune']);
  }
}
