// Turns the `scenarios` option (built-in names, paths, globs) and the patch-file options
// (paths, globs) into files. Glob syntax is tinyglobby's (picomatch underneath): *, **, ?,
// [classes], {a,b} braces and extglobs, the common dialect, not one of our own.
import { existsSync, readdirSync, realpathSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { globSync, isDynamicPattern } from 'tinyglobby';
import { ConfigError } from '../errors.js';
import { packageRoot } from '../package-root.js';
import { fileKind } from './scenario-source.js';

/** More matches than this is a glob gone wrong (`/**` for `./**`), not a selection to run or apply. */
export const MAX_GLOB_MATCHES = 1000;

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

/**
 * The entries of a list option. Newlines, commas and spaces separate entries, as they always
 * have. An entry that starts with a quote (" or ') runs to the same quote on its line, spaces
 * and commas included, and goes on after it to the next separator: that is how a path with a
 * space is given. A comma (or space) inside a {…} brace group on one line belongs to the glob.
 * A quote that is not closed on its line, or that is not at an entry's start, is an ordinary
 * character, so names like it's.yaml keep working.
 */
export function splitList(value: string): string[] {
  const entries: string[] = [];
  let entry = '';
  let started = false;
  const end = () => {
    if (entry) entries.push(entry);
    entry = '';
    started = false;
  };
  for (let i = 0; i < value.length; i++) {
    const c = value[i]!;
    if (!started && (c === '"' || c === "'")) {
      const close = closingOnLine(value, i, c);
      if (close !== -1) {
        entry += value.slice(i + 1, close);
        started = true;
        i = close;
        continue;
      }
    }
    if (c === '{') {
      const close = braceEnd(value, i);
      if (close !== -1) {
        entry += value.slice(i, close + 1);
        started = true;
        i = close;
        continue;
      }
    }
    if (/[\s,]/.test(c)) {
      end();
      continue;
    }
    entry += c;
    started = true;
  }
  end();
  return entries;
}

/** Where the quote opened at `open` closes on the same line, or -1. */
function closingOnLine(value: string, open: number, quote: string): number {
  const close = value.indexOf(quote, open + 1);
  const eol = value.indexOf('\n', open + 1);
  return close !== -1 && (eol === -1 || close < eol) ? close : -1;
}

/** Where the brace group opened at `open` closes (nested groups counted) on the same line, or -1. */
function braceEnd(value: string, open: number): number {
  let depth = 0;
  for (let i = open; i < value.length && value[i] !== '\n'; i++) {
    if (value[i] === '{') depth++;
    else if (value[i] === '}' && --depth === 0) return i;
  }
  return -1;
}

/**
 * Whether an entry is a glob. * and ? always made one; the newer syntax ([…], {…}, (…)) does
 * only when no file is named exactly so, because such names were plain paths before.
 */
function isGlob(entry: string, cwd: string): boolean {
  return /[*?]/.test(entry) || (isDynamicPattern(entry) && !existsSync(resolve(cwd, entry)));
}

/**
 * The regular files a glob matches, in name order. The glob starts at its longest leading run
 * of folders that exist as written (so a folder named "old (2023)" is that folder, not a
 * pattern); below that, node_modules is never searched. Symbolic links are followed, as a
 * checkout may link its scenarios, and a link back up the tree is walked once, not forever.
 */
function expandGlob(pattern: string, cwd: string, label: string): string[] {
  const parts = resolve(cwd, pattern).split('/');
  let base = 1;
  while (base < parts.length - 1 && !/[*?]/.test(parts[base]!) && isDirectory(parts.slice(0, base + 1).join('/'))) base++;
  const root = parts.slice(0, base).join('/') || '/';
  const found = globSync(parts.slice(base).join('/'), {
    cwd: root,
    absolute: true,
    // Hidden files and folders match like any other, as they always did here.
    dot: true,
    // `dir` is the folder, not everything in it: a folder is refused, as a plain path to one is.
    expandDirectories: false,
    followSymbolicLinks: true,
    ignore: ['**/node_modules/**'],
    debug: false,
  });
  if (found.length > MAX_GLOB_MATCHES) {
    throw new ConfigError(`${label}: ${pattern} matches ${found.length} files, more than the ${MAX_GLOB_MATCHES} a list may take from one glob; narrow it`);
  }
  // stat, not open: a FIFO or a device never ends; a link to one, or a dangling link, is no file.
  return found.filter((f) => statSync(f, { throwIfNoEntry: false })?.isFile()).sort();
}

function isDirectory(path: string): boolean {
  return statSync(path, { throwIfNoEntry: false })?.isDirectory() ?? false;
}

/**
 * Plain paths and globs (no built-in names), each of which must name at least one file; in
 * the order given, a glob's matches in name order, each file once.
 */
export function resolveFiles(entries: readonly string[], cwd: string, label: string, what: string): string[] {
  const files: string[] = [];
  for (const entry of entries) {
    if (isGlob(entry, cwd)) {
      const found = expandGlob(entry, cwd, label);
      if (found.length === 0) throw new ConfigError(`${label}: ${entry} matches no files (relative to ${cwd})`);
      files.push(...found);
    } else {
      const path = resolve(cwd, entry);
      if (!existsSync(path)) throw new ConfigError(`${label}: ${what} not found: ${entry}${unclosedQuote(entry)}`);
      // stat, not open: it never blocks, and a FIFO or a device read later would hang or never end.
      const st = statSync(path);
      if (st.isDirectory()) throw new ConfigError(`${label}: ${what} ${entry} is a directory; name the files in it (a glob will do)`);
      if (!st.isFile()) throw new ConfigError(`${label}: ${what} ${entry} is ${fileKind(st)}, not a regular file`);
      files.push(path);
    }
  }
  return onceEach(files);
}

/**
 * Each file once, where it first appears. Once by its real path: through a link (a loop
 * walked back up the tree, an alias) it is still one file, which twice would be one
 * scenario run twice under one name or one patch applied twice.
 */
function onceEach(files: readonly string[]): string[] {
  const byReal = new Map<string, string>();
  for (const f of files) {
    const real = realpathSync(f);
    if (!byReal.has(real)) byReal.set(real, f);
  }
  return [...byReal.values()];
}

/** The likely cause when a missing entry starts with a quote that splitList left alone. */
function unclosedQuote(entry: string): string {
  return /^["']/.test(entry) ? ` (its ${entry[0]} has no closing ${entry[0]} on the same line, so it is part of the name)` : '';
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
  return onceEach(files);
}
