// What the cache holds, as entries that can be listed and removed one at a time: each is a
// folder that one recipe key (or one package version) names, and nothing else refers into
// it without finding it again by key, so removing one costs a rebuild, never a broken run.
import { lstat, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { run } from '../host/exec.js';
import { lastUsed } from './usage.js';

/** The cache's top-level folders, what they hold and how deep an entry sits. */
export const ENTRY_KINDS = [
  { dir: 'rigs', what: 'assembled rig', depth: 1 },
  { dir: 'states', what: 'saved booted system', depth: 1 },
  { dir: 'components', what: 'built component', depth: 2 },
  { dir: 'toolchains', what: 'pinned toolchain', depth: 1 },
  { dir: 'sources', what: 'unpacked Debian source', depth: 1 },
  { dir: 'tools', what: 'unpacked build tool', depth: 1 },
  { dir: 'apt', what: 'package lists and archives', depth: 1 },
  { dir: 'work', what: 'build tree (kept after a failed build)', depth: 1 },
  { dir: 'trees', what: 'incremental build tree', depth: 1 },
  { dir: 'bisect', what: 'bisection clone', depth: 1 },
  { dir: 'prebuilt', what: 'prebuilt bundle staging', depth: 1 },
] as const;

export interface CacheEntry {
  /** Relative to the cache dir, e.g. `rigs/<key>` or `components/qemu/<key>`. */
  name: string;
  path: string;
  what: string;
  bytes: number;
  /** The later of its recorded use and its own change time. */
  lastUsed: Date;
}

/** Every entry with its size (du, which does not follow links) and last use, least recently used first. */
export async function listEntries(cacheDir: string): Promise<CacheEntry[]> {
  const found: { name: string; path: string; what: string; changed: Date }[] = [];
  for (const kind of ENTRY_KINDS) {
    // A folder linked in from another cache (a test's view of a shared one) is not this cache's to list or prune.
    const top = await lstat(join(cacheDir, kind.dir)).catch(() => undefined);
    if (!top?.isDirectory()) continue;
    let level: string[] = [kind.dir];
    for (let d = 0; d < kind.depth; d++) {
      const next: string[] = [];
      for (const rel of level) {
        const names = await readdir(join(cacheDir, rel)).catch(() => [] as string[]);
        for (const n of names) if (!n.startsWith('.')) next.push(join(rel, n));
      }
      level = next;
    }
    for (const name of level) {
      // Gone since it was listed (another run pruned it): nothing to count.
      const st = await lstat(join(cacheDir, name)).catch(() => undefined);
      if (!st || st.isSymbolicLink()) continue;
      found.push({ name, path: join(cacheDir, name), what: kind.what, changed: st.mtime });
    }
  }
  const sizes = await sizesOf(found.map((f) => f.path));
  return found
    .map((f) => {
      const used = lastUsed(cacheDir, f.name);
      return { name: f.name, path: f.path, what: f.what, bytes: sizes.get(f.path) ?? 0, lastUsed: used && used > f.changed ? used : f.changed };
    })
    .sort((a, b) => a.lastUsed.getTime() - b.lastUsed.getTime());
}

/** Apparent sizes in bytes, one du for all (a Linux source tree is 80 000 files). */
async function sizesOf(paths: string[]): Promise<Map<string, number>> {
  const sizes = new Map<string, number>();
  for (let i = 0; i < paths.length; i += 200) {
    const batch = paths.slice(i, i + 200);
    const r = await run('du', ['-s', '-b', '--', ...batch], { allowFailure: true });
    for (const line of r.stdout.split('\n')) {
      const m = /^(\d+)\t(.+)$/.exec(line);
      if (m) sizes.set(m[2]!, Number(m[1]));
    }
  }
  return sizes;
}
