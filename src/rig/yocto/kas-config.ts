// Reads a kas configuration the way kas merges it (includes first, the including file on
// top), so the yocto plan can key its caches on what the configuration says rather than on
// how it is spelled. Nothing here runs kas.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { parse } from 'yaml';
import { ConfigError } from '../../errors.js';

export interface KasRepo {
  url?: string;
  path?: string;
  commit?: string;
  branch?: string;
  tag?: string;
  refspec?: string;
}

export interface KasConfig {
  /** Every local file read, the top file last. */
  files: string[];
  /** Includes from repositories kas has not checked out yet: they stay as "repo:file". */
  unresolvedIncludes: string[];
  /** The merged configuration, minus `header`. */
  merged: Record<string, unknown>;
  machine?: string;
  distro?: string;
  repos: Record<string, KasRepo | null>;
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** kas merges dictionaries key by key; anything else in a later file replaces the earlier value. */
function merge(base: Obj, top: Obj): Obj {
  const out: Obj = { ...base };
  for (const [k, v] of Object.entries(top)) out[k] = isObj(v) && isObj(out[k]) ? merge(out[k], v) : v;
  return out;
}

/** A plain include is relative to the root of the repository holding the including file. */
function repoRoot(file: string): string {
  for (let dir = dirname(file); ; dir = dirname(dir)) {
    if (existsSync(join(dir, '.git'))) return dir;
    if (dirname(dir) === dir) return dirname(file);
  }
}

export function loadKasConfig(file: string, label: string): KasConfig {
  const files: string[] = [];
  const unresolvedIncludes: string[] = [];

  const read = (path: string, from: string | undefined, depth: number): Obj => {
    if (depth > 16) throw new ConfigError(`${label}: kas includes nest deeper than 16 levels at ${path}`);
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (cause) {
      throw new ConfigError(`${label}: cannot read kas file ${path}${from ? ` (included from ${from})` : ''}: ${(cause as Error).message}`);
    }
    let doc: unknown;
    try {
      doc = parse(text);
    } catch (cause) {
      throw new ConfigError(`${label}: ${path} is not valid YAML: ${(cause as Error).message}`);
    }
    if (!isObj(doc) || !isObj(doc.header) || doc.header.version === undefined) {
      throw new ConfigError(`${label}: ${path} is not a kas configuration (no header: version:)`);
    }
    let merged: Obj = {};
    const includes = doc.header.includes ?? [];
    if (!Array.isArray(includes)) throw new ConfigError(`${label}: ${path}: header.includes must be a list`);
    for (const inc of includes) {
      if (typeof inc === 'string') {
        merged = merge(merged, read(resolve(repoRoot(path), inc), path, depth + 1));
      } else if (isObj(inc) && typeof inc.repo === 'string' && typeof inc.file === 'string') {
        unresolvedIncludes.push(`${inc.repo}:${inc.file}`);
      } else {
        throw new ConfigError(`${label}: ${path}: an include must be a path or { repo, file }`);
      }
    }
    files.push(path);
    const { header: _header, ...rest } = doc;
    return merge(merged, rest);
  };

  const merged = read(file, undefined, 0);
  const repos = (isObj(merged.repos) ? merged.repos : {}) as Record<string, KasRepo | null>;
  return {
    files,
    unresolvedIncludes,
    merged,
    machine: typeof merged.machine === 'string' ? merged.machine : undefined,
    distro: typeof merged.distro === 'string' ? merged.distro : undefined,
    repos,
  };
}
