// Turns the `scenarios` option (built-in names, paths, globs) into scenario files.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { isAbsolute, join, resolve, sep } from 'node:path';
import { ConfigError } from '../errors.js';
import { packageRoot } from '../package-root.js';
import { fileKind } from './scenario-source.js';

/** The scenarios/ folder shipped with the action. */
export function builtInScenarioDir(): string {
  return join(packageRoot(), 'scenarios');
}

export function builtInScenarios(): string[] {
  return readdirSync(builtInScenarioDir())
    .filter((f) => f.endsWith('.yaml'))
    .map((f) => f.slice(0, -'.yaml'.length))
    .sort();
}

export function splitList(value: string): string[] {
  return value
    .split(/[\s,]+/)
    .map((s) => s.trim())
    .filter(Boolean);
}

function globToRegExp(glob: string): RegExp {
  let re = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === '*' && glob[i + 1] === '*') {
      // `**/` matches any number of folders, including none.
      re += glob[i + 2] === '/' ? '(?:.*/)?' : '.*';
      i += glob[i + 2] === '/' ? 2 : 1;
    } else if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else re += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

function expandGlob(pattern: string, cwd: string): string[] {
  const absolute = isAbsolute(pattern) ? pattern : resolve(cwd, pattern);
  const parts = absolute.split(sep);
  const firstWild = parts.findIndex((p) => /[*?]/.test(p));
  const root = parts.slice(0, firstWild).join(sep) || sep;
  if (!existsSync(root)) return [];
  const matcher = globToRegExp(parts.slice(firstWild).join('/'));
  return (readdirSync(root, { recursive: true }) as string[])
    .map((rel) => rel.split(sep).join('/'))
    .filter((rel) => matcher.test(rel) && !rel.split('/').includes('node_modules'))
    .map((rel) => join(root, rel))
    .filter((f) => statSync(f).isFile())
    .sort();
}

/** Plain paths and globs (no built-in names), each of which must name at least one file. */
export function resolveFiles(entries: readonly string[], cwd: string, label: string, what: string): string[] {
  const files: string[] = [];
  for (const entry of entries) {
    if (/[*?]/.test(entry)) {
      const found = expandGlob(entry, cwd);
      if (found.length === 0) throw new ConfigError(`${label}: ${entry} matches no files (relative to ${cwd})`);
      files.push(...found);
    } else {
      const path = resolve(cwd, entry);
      if (!existsSync(path)) throw new ConfigError(`${label}: ${what} not found: ${entry}`);
      // stat, not open: it never blocks, and a FIFO or a device read later would hang or never end.
      const st = statSync(path);
      if (st.isDirectory()) throw new ConfigError(`${label}: ${what} ${entry} is a directory; name the files in it (a glob will do)`);
      if (!st.isFile()) throw new ConfigError(`${label}: ${what} ${entry} is ${fileKind(st)}, not a regular file`);
      files.push(path);
    }
  }
  return files;
}

/**
 * Each entry is a built-in name, a file, or a glob. A name that is none of these is an
 * error that lists the built-ins, so a typo never silently runs nothing.
 */
export function resolveScenarioFiles(entries: readonly string[], cwd: string, label: string): string[] {
  if (entries.length === 0) throw new ConfigError(`${label}: no scenarios given`);
  const builtIns = builtInScenarioDir();
  const files: string[] = [];
  for (const entry of entries) {
    const isName = !/[*?/]/.test(entry) && !entry.endsWith('.yaml') && !entry.endsWith('.yml');
    if (!isName) {
      files.push(...resolveFiles([entry], cwd, label, 'scenario file'));
      continue;
    }
    const builtIn = join(builtIns, `${entry}.yaml`);
    if (!existsSync(builtIn)) {
      throw new ConfigError(`${label}: unknown scenario ${entry}; built-in scenarios: ${builtInScenarios().join(', ')}`);
    }
    files.push(builtIn);
  }
  return [...new Set(files)];
}
