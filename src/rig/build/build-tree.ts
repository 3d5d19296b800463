// A component's persistent build tree (incremental-builds: true, and every bisect step): one
// folder per component under <cache>/trees/<name>/tree that keeps the objects of its last
// build. A new build's sources (fetched or copied, patched, as for a clean build) are synced
// into it file by file: a file whose content is unchanged keeps its old mtime, so make and
// ninja rebuild only what a changed file reaches. One build at a time holds it (a lock with
// the holder's pid); a tree whose last build did not end (killed mid-write: an object file
// may be half-written) is emptied before it is used again.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { chmod, copyFile, link, lstat, mkdir, readFile, readdir, readlink, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { markUsed } from '../../cache/usage.js';
import { processAlive } from '../../host/process-identity.js';

/** Written before the tree changes and replaced when a build ends; read by the next build. */
const STATE_FILE = 'state.json';
const LOCK_FILE = 'lock';

export interface BuildTreeState {
  /**
   * building: a build is changing the tree, or was killed while it did (the tree is emptied);
   * built / failed: the last build ended, with the component or with the tree's own build error.
   */
  status: 'building' | 'built' | 'failed';
  /** The sources the tree was last synced to (relative path → sourceId): what the next sync compares against. */
  sources: Record<string, string>;
  /** The component key of the last build, for the record. */
  key?: string;
  /** What the recipe noted for its next build (e.g. the arguments its configure ran with). */
  notes: Record<string, string>;
}

/** What make() learns of a reused tree. */
export interface ReusedTree {
  /** The tree had to start empty (first use, or the last build did not end). */
  fresh: boolean;
  /** Paths whose content changed since the last build: added, changed or removed. Everything, when fresh. */
  changed: ReadonlySet<string>;
  /** The notes of the last build that ended (empty when fresh). */
  previous: Readonly<Record<string, string>>;
  /** Notes for the next build, kept when this one ends (built or failed). */
  notes: Record<string, string>;
  /** The last build's component key (absent when fresh). */
  lastKey?: string;
  /** A folder kept beside the tree for what the build keeps outside it (an out-of-tree build folder); emptied with the tree. */
  scratch: string;
}

export function treeRoot(cacheDir: string, name: string): string {
  return join(cacheDir, 'trees', name);
}

/** The pid holding the tree at root, when that process is alive. */
export async function treeHolder(root: string): Promise<number | undefined> {
  const pid = Number((await readFile(join(root, LOCK_FILE), 'utf8').catch(() => '')).trim());
  return Number.isInteger(pid) && pid > 0 && processAlive(pid) ? pid : undefined;
}

export class BuildTree {
  private constructor(
    readonly root: string,
    /** Where the sources are and the build runs. */
    readonly dir: string,
  ) {}

  /**
   * Takes the component's tree, or says it is busy (another live build holds it: the caller
   * builds in a fresh copy instead). A lock left by a process that is gone is taken over.
   */
  static async take(cacheDir: string, name: string): Promise<BuildTree | { busy: number }> {
    const root = treeRoot(cacheDir, name);
    await mkdir(root, { recursive: true });
    // The pid is written first and linked in whole: a lock is never seen without its holder.
    const mine = join(root, `${LOCK_FILE}.${process.pid}`);
    await writeFile(mine, `${process.pid}\n`);
    try {
      for (let attempt = 0; attempt < 2; attempt++) {
        try {
          await link(mine, join(root, LOCK_FILE));
          // The cache's budget removes the least recently used tree first, never a held one.
          markUsed(cacheDir, root);
          return new BuildTree(root, join(root, 'tree'));
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
          const holder = await treeHolder(root);
          if (holder !== undefined) return { busy: holder };
          // Its holder is gone: the lock is stale (the state file says whether the tree is whole).
          await rm(join(root, LOCK_FILE), { force: true });
        }
      }
      return { busy: 0 };
    } finally {
      await rm(mine, { force: true });
    }
  }

  async release(): Promise<void> {
    await rm(join(this.root, LOCK_FILE), { force: true });
  }

  private async readState(): Promise<BuildTreeState | undefined> {
    try {
      const s = JSON.parse(await readFile(join(this.root, STATE_FILE), 'utf8')) as BuildTreeState;
      if (typeof s.sources !== 'object' || s.sources === null || Array.isArray(s.sources) || typeof s.notes !== 'object' || !['building', 'built', 'failed'].includes(s.status)) return undefined;
      // Paths the next sync removes: only ever inside the tree.
      if (!Object.keys(s.sources).every(isTreePath)) return undefined;
      return s;
    } catch {
      return undefined;
    }
  }

  private async writeState(s: BuildTreeState): Promise<void> {
    const tmp = join(this.root, `${STATE_FILE}.${process.pid}`);
    await writeFile(tmp, JSON.stringify(s));
    await rename(tmp, join(this.root, STATE_FILE));
  }

  /**
   * Brings the tree to the sources in `staged` (a clean build's tree, patched; or, with
   * `files`, those files of the user's own tree, read where they lie) and says what changed. A source counts as changed when it differs from what the last sync put there,
   * not from the tree's file now: a build that rewrites a file it ships (autogen's configure,
   * bison's output) would otherwise look changed every time. A fetched tree's `.git` is moved
   * over whole, as a clean build would have it (Linux's and Xen's version strings read it),
   * and counts as no change. The state says "building" before the first file moves: a build
   * killed from here on leaves a tree the next one empties.
   */
  async sync(staged: string, files?: readonly string[]): Promise<ReusedTree> {
    const last = await this.readState();
    const fresh = last === undefined || last.status === 'building';
    const names = files ? files.filter((p) => isTreePath(p) && p !== '.git' && !p.startsWith('.git/')) : await listSources(staged);
    const sources: Record<string, string> = {};
    let next = 0;
    const hashWorker = async () => {
      while (next < names.length) {
        const p = names[next++]!;
        sources[p] = await sourceId(join(staged, p));
      }
    };
    await Promise.all(Array.from({ length: 16 }, hashWorker));
    await this.writeState({ status: 'building', sources, notes: {} });
    const scratch = join(this.root, 'scratch');
    if (fresh) {
      await rm(this.dir, { recursive: true, force: true });
      await rm(scratch, { recursive: true, force: true });
      await mkdir(this.dir, { recursive: true });
    }
    await mkdir(scratch, { recursive: true });
    const before = fresh ? {} : last.sources;
    const changed = new Set<string>();
    for (const p of Object.keys(before)) {
      if (p in sources) continue;
      await rm(join(this.dir, p), { recursive: true, force: true });
      changed.add(p);
    }
    await rm(join(this.dir, '.git'), { recursive: true, force: true });
    if (!files && (await lstat(join(staged, '.git')).catch(() => undefined))) await rename(join(staged, '.git'), join(this.dir, '.git'));
    next = 0;
    const copyWorker = async () => {
      while (next < names.length) {
        const p = names[next++]!;
        const there = await lstat(join(this.dir, p)).catch(() => undefined);
        if (before[p] === sources[p] && there) continue;
        await place(join(staged, p), join(this.dir, p));
        changed.add(p);
      }
    };
    await Promise.all(Array.from({ length: 16 }, copyWorker));
    return { fresh, changed, previous: fresh ? {} : last.notes, notes: {}, scratch, ...(fresh || !last.key ? {} : { lastKey: last.key }) };
  }

  /** The build ended: with its component (built) or with the tree's own error (failed); either way the tree is whole. */
  async ended(status: 'built' | 'failed', reused: ReusedTree, key: string): Promise<void> {
    const s = await this.readState();
    await this.writeState({ status, sources: s?.sources ?? {}, key, notes: reused.notes });
  }
}

/** A relative path with no empty, `.` or `..` part. */
function isTreePath(p: string): boolean {
  return p.length > 0 && !p.startsWith('/') && p.split('/').every((part) => part !== '' && part !== '.' && part !== '..');
}

/** Every file and symlink under dir (not .git), relative, sorted. */
export async function listSources(dir: string): Promise<string[]> {
  const out: string[] = [];
  const visit = async (rel: string) => {
    for (const e of await readdir(join(dir, rel), { withFileTypes: true })) {
      if (rel === '' && e.name === '.git') continue;
      const p = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) await visit(p);
      else if (e.isFile() || e.isSymbolicLink()) out.push(p);
    }
  };
  await visit('');
  return out.sort();
}

/** What a source is: its link target, or its exec bit and content hash. */
async function sourceId(path: string): Promise<string> {
  const st = await lstat(path);
  if (st.isSymbolicLink()) return `link ${await readlink(path)}`;
  const hash = createHash('sha1');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return `${st.mode & 0o111 ? 'exec' : 'file'} ${hash.digest('hex')}`;
}

/** Puts `from` (a file or a link) at `to`, replacing whatever is there. */
async function place(from: string, to: string): Promise<void> {
  const [src, dst] = await Promise.all([lstat(from), lstat(to).catch(() => undefined)]);
  if (dst && (src.isSymbolicLink() || !dst.isFile())) await rm(to, { recursive: true, force: true });
  else if (!dst) await mkdir(dirname(to), { recursive: true });
  if (src.isSymbolicLink()) {
    await symlink(await readlink(from), to);
    return;
  }
  // A copy beside it renamed over it: a hard link to the old file elsewhere keeps its bytes.
  const tmp = `${to}.sync-${process.pid}`;
  await copyFile(from, tmp);
  await chmod(tmp, src.mode & 0o777);
  await rename(tmp, to);
}
