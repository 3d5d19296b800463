// A local source tree (`xen-path: .` after actions/checkout): what identifies it for the
// cache, and a copy of exactly those files to build in. A git checkout is identified by its
// commit plus a hash of its uncommitted changes (so an unchanged tree is a cache hit from
// any clone, shallow or not), a plain directory by a hash of every file. The build never
// runs in the user's tree: its outputs would pollute the next key, and an earlier step's
// files are theirs.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { chmod, copyFile, lstat, mkdir, readdir, readlink, realpath, stat, symlink } from 'node:fs/promises';
import { dirname, join, relative, sep } from 'node:path';
import { ConfigError } from '../../errors.js';
import { run } from '../../host/exec.js';

/** Reads are bounded: a tree bigger than this is not a source tree (or not one to copy per run). */
export const TREE_LIMITS = { files: 400_000, bytes: 8 * 1024 ** 3 };

export interface LocalTree {
  /** How the user named it, for errors: "input `xen-path`" / "--xen-path". */
  label: string;
  /** The directory, resolved (symlinks followed). */
  path: string;
  /** What keys the build: `git:<commit>[+<changes>]` or `files:<hash>`. */
  id: string;
  /** Git checkouts: HEAD's commit, and the hash of uncommitted changes when there are any. */
  commit?: string;
  uncommitted?: { sha256: string; files: number };
  /** Where the directory is inside its git checkout ('' at the top). */
  prefix?: string;
  /** Relative paths of the files that make the tree (what is copied), sorted. */
  files: string[];
}

const GIT_ENV = { GIT_TERMINAL_PROMPT: '0', LC_ALL: 'C', GIT_OPTIONAL_LOCKS: '0' };

/** git in the tree; safe.directory because an Actions container's checkout belongs to another user. */
function git(top: string, args: string[]) {
  return run('git', ['-c', `safe.directory=${top}`, '-C', top, ...args], { env: GIT_ENV, allowFailure: true });
}

function nulList(text: string): string[] {
  return text.split('\0').filter(Boolean);
}

async function fileHash(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** One line per entry: its kind, its content (or link target) and its path; the hash of the whole. */
async function contentHash(root: string, paths: readonly string[], label: string): Promise<string> {
  const whole = createHash('sha256');
  let bytes = 0;
  for (const p of paths) {
    const full = join(root, p);
    // git named this path as changed; gone from the disk, it is a deletion, and that is what the hash records.
    const st = await lstat(full).catch(() => undefined);
    let entry: string;
    if (!st) entry = 'deleted';
    else if (st.isSymbolicLink()) entry = `link ${await readlink(full)}`;
    else if (st.isFile()) {
      bytes += st.size;
      if (bytes > TREE_LIMITS.bytes) throw new ConfigError(`${label}: ${root} holds more than ${TREE_LIMITS.bytes / 1024 ** 3} GiB of files; point it at a source tree`);
      entry = `${st.mode & 0o111 ? 'exec' : 'file'} ${await fileHash(full)}`;
    } else entry = 'other';
    whole.update(`${entry}\0${p}\0`);
  }
  return whole.digest('hex');
}

/** Every file under dir, relative, sorted; directories are walked, symlinks are not followed. */
async function walk(dir: string, label: string): Promise<string[]> {
  const out: string[] = [];
  const visit = async (rel: string) => {
    for (const e of await readdir(join(dir, rel), { withFileTypes: true })) {
      const p = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) await visit(p);
      // Sockets, FIFOs and devices are no source (and reading a FIFO would wait forever).
      else if (e.isFile() || e.isSymbolicLink()) out.push(p);
      if (out.length > TREE_LIMITS.files) throw new ConfigError(`${label}: ${dir} holds more than ${TREE_LIMITS.files} files; point it at a source tree`);
    }
  };
  await visit('');
  return out.sort();
}

/** The tree at path: a git checkout (or a directory inside one), or a plain directory. */
export async function identifyTree(path: string, label: string): Promise<LocalTree> {
  let real: string;
  try {
    real = await realpath(path);
  } catch {
    throw new ConfigError(`${label}: ${path} does not exist`);
  }
  if (!(await stat(real)).isDirectory()) throw new ConfigError(`${label}: ${path} is not a directory`);

  const top = await git(real, ['rev-parse', '--show-toplevel']);
  if (top.exitCode !== 0) {
    const files = await walk(real, label);
    if (files.length === 0) throw new ConfigError(`${label}: ${path} is empty`);
    return { label, path: real, id: `files:${await contentHash(real, files, label)}`, files };
  }
  const root = top.stdout.trim();
  // The pathspec confines every git command to the given directory when it is below the top.
  const prefix = relative(root, real).split(sep).join('/');
  const spec = prefix === '' ? '.' : prefix;
  const head = await git(root, ['rev-parse', '--verify', '-q', 'HEAD^{commit}']);
  if (head.exitCode !== 0) throw new ConfigError(`${label}: ${path} is a git repository without a commit; commit the tree or point at a plain directory`);
  const commit = head.stdout.trim();

  const listed = await git(root, ['ls-files', '-z', '--cached', '--others', '--exclude-standard', '--', spec]);
  if (listed.exitCode !== 0) throw new ConfigError(`${label}: git ls-files in ${root} failed: ${listed.stderr.trim()}`);
  const strip = (p: string) => (prefix === '' ? p : p.slice(prefix.length + 1));
  const files: string[] = [];
  for (const p of new Set(nulList(listed.stdout))) {
    // Deleted files (git still lists them until the deletion is committed) are not part of the
    // tree; a submodule is a directory git does not list into.
    const st = await lstat(join(root, p)).catch(() => undefined);
    if (st && (st.isFile() || st.isSymbolicLink())) files.push(strip(p));
    if (files.length > TREE_LIMITS.files) throw new ConfigError(`${label}: ${path} holds more than ${TREE_LIMITS.files} files; point it at a source tree`);
  }
  files.sort();

  // Uncommitted changes: every path git reports as changed, staged or not, or untracked.
  const status = await git(root, ['status', '--porcelain=v1', '-z', '--untracked-files=all', '--no-renames', '--ignore-submodules=all', '--', spec]);
  if (status.exitCode !== 0) throw new ConfigError(`${label}: git status in ${root} failed: ${status.stderr.trim()}`);
  const changed = [...new Set(nulList(status.stdout).map((e) => e.slice(3)))].sort();
  const at = `git:${commit}${prefix ? `:${prefix}` : ''}`;
  if (changed.length === 0) return { label, path: real, id: at, commit, prefix, files };
  const sha256 = await contentHash(root, changed, label);
  return { label, path: real, id: `${at}+${sha256}`, commit, prefix, uncommitted: { sha256, files: changed.length }, files };
}

/**
 * A clean checkout at the top of its repository is exactly its commit's tree (what a fetch of
 * that commit gives), so it shares the commit's cache entries with `xen-ref: <commit>`.
 */
export function isCommitTree(t: LocalTree): t is LocalTree & { commit: string } {
  return t.commit !== undefined && t.uncommitted === undefined && t.prefix === '';
}

/** "git checkout /x at abc (+ uncommitted changes in 2 files, sha256 …)" or "directory /x (sha256 …)". */
export function describeTree(t: LocalTree): string {
  if (!t.commit) return `directory ${t.path} (${t.files.length} files, content sha256 ${t.id.slice('files:'.length, 'files:'.length + 16)})`;
  const changes = t.uncommitted ? ` + uncommitted changes in ${t.uncommitted.files} file${t.uncommitted.files === 1 ? '' : 's'} (sha256 ${t.uncommitted.sha256.slice(0, 16)})` : '';
  return `git checkout ${t.path} at ${t.commit}${changes}`;
}

/** Copies the tree's files (modes and symlinks kept) into dest, a few at a time. */
export async function copyTree(t: LocalTree, dest: string): Promise<void> {
  await mkdir(dest, { recursive: true });
  const made = new Set<string>();
  let next = 0;
  const worker = async () => {
    while (next < t.files.length) {
      const p = t.files[next++]!;
      const from = join(t.path, p);
      const to = join(dest, p);
      const dir = dirname(to);
      if (!made.has(dir)) {
        await mkdir(dir, { recursive: true });
        made.add(dir);
      }
      const st = await lstat(from);
      if (st.isSymbolicLink()) await symlink(await readlink(from), to);
      else {
        await copyFile(from, to);
        await chmod(to, st.mode & 0o777);
      }
    }
  };
  await Promise.all(Array.from({ length: 16 }, worker));
}
