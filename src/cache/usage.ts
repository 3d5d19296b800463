// When each cache entry was last used: a stamp file per entry under <cache>/.use, touched by
// whoever finds or makes the entry. Entries themselves are never written to after they are
// complete (rigs are verified file by file), so their own times cannot say it.
import { mkdirSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { changesAllowed } from '../host/dry-run.js';

const USE_DIR = '.use';

function stampOf(cacheDir: string, entry: string): string {
  return join(cacheDir, USE_DIR, entry.split(sep).join('%2F'));
}

/**
 * Records that the entry at `path` (inside cacheDir: `rigs/<key>`, `components/<name>/<key>`,
 * …) was used now. Never fails the caller: a cache that cannot record use is only pruned by age.
 */
export function markUsed(cacheDir: string, path: string): void {
  if (!changesAllowed()) return;
  const entry = relative(cacheDir, path);
  if (entry.startsWith('..') || entry === '') return;
  const stamp = stampOf(cacheDir, entry);
  try {
    mkdirSync(join(cacheDir, USE_DIR), { recursive: true });
    const now = new Date();
    try {
      utimesSync(stamp, now, now);
    } catch {
      writeFileSync(stamp, '');
    }
  } catch {
    // Read-only or full: the entry's own time stands in.
  }
}

/** When the entry was last used, as far as anyone recorded; undefined when never. */
export function lastUsed(cacheDir: string, entry: string): Date | undefined {
  try {
    return statSync(stampOf(cacheDir, entry)).mtime;
  } catch {
    return undefined;
  }
}

export function forgetUse(cacheDir: string, entry: string): string {
  return stampOf(cacheDir, entry);
}
