// cache/: the local cache as a whole: what it holds, when each entry was last used, and
// pruning it back to a budget. Each stage still owns the layout of its own entries.
export { ENTRY_KINDS, listEntries, type CacheEntry } from './entries.js';
export { formatBytes, pruneCache, type PruneOptions, type PruneResult } from './prune.js';
export { lastUsed, markUsed } from './usage.js';
