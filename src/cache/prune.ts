// Keeping the cache within a budget: least recently used entries go first, and never one the
// running process used (it may still need it) or one a build is writing.
import { randomBytes } from 'node:crypto';
import { readdir, rename, rm } from 'node:fs/promises';
import { join, sep } from 'node:path';
import { listEntries, type CacheEntry } from './entries.js';
import { forgetUse } from './usage.js';
import { processAlive } from '../host/process-identity.js';
import { treeHolder } from '../rig/build/build-tree.js';

export interface PruneOptions {
  /** Entries used at or after this time stay whatever the budget says (the current run's). */
  keepUsedSince?: Date;
  log?: (line: string) => void;
}

export interface PruneResult {
  before: number;
  after: number;
  removed: CacheEntry[];
  /** Entries over the budget that had to stay (in use). */
  kept: CacheEntry[];
}

export async function pruneCache(cacheDir: string, maxBytes: number, opts: PruneOptions = {}): Promise<PruneResult> {
  const entries = await listEntries(cacheDir);
  const before = entries.reduce((n, e) => n + e.bytes, 0);
  let total = before;
  const removed: CacheEntry[] = [];
  const kept: CacheEntry[] = [];
  for (const e of entries) {
    if (total <= maxBytes) break;
    // An unfinished build names itself with a .tmp- or the pid of its process: not ours to take.
    if ((opts.keepUsedSince && e.lastUsed >= opts.keepUsedSince) || /\.tmp-|unpack-/.test(e.name) || (await buildInProgress(e))) {
      kept.push(e);
      continue;
    }
    // Renamed away first, so a reader finds the entry whole or not at all.
    const trash = join(cacheDir, `.trash-${randomBytes(4).toString('hex')}`);
    try {
      await rename(e.path, trash);
    } catch {
      continue;
    }
    await rm(trash, { recursive: true, force: true });
    await rm(forgetUse(cacheDir, e.name), { force: true });
    total -= e.bytes;
    removed.push(e);
    opts.log?.(`cache: removed ${e.name} (${e.what}, ${formatBytes(e.bytes)}, last used ${e.lastUsed.toISOString()})`);
  }
  return { before, after: total, removed, kept };
}

/** work/<name>-<key>-<pid> of a live process, trees/<name> a live build holds, or bisect/<repo> a live bisection has checkouts in. */
async function buildInProgress(e: CacheEntry): Promise<boolean> {
  if (e.name.startsWith(`trees${sep}`)) return (await treeHolder(e.path)) !== undefined;
  if (e.name.startsWith(`bisect${sep}`)) {
    const checkouts = await readdir(join(e.path, 'checkouts')).catch(() => [] as string[]);
    return checkouts.some((c) => processAlive(Number(/^(\d+)-/.exec(c)?.[1] ?? NaN)));
  }
  const m = /^work\/.*-(\d+)$/.exec(e.name);
  return m ? processAlive(Number(m[1])) : false;
}

export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${u === 0 ? v : v.toFixed(1)} ${units[u]}`;
}
