// QEMU's meson subprojects for a tree shaped like upstream's git. Upstream commits only
// subprojects/<name>.wrap for most of them (keycodemapdb, the softfloat libraries, dtc, the
// Rust crates…); meson fetches the trees at configure time. Our configure line passes
// --disable-download (a missing library must fail the build, not fetch a fallback), and
// configure then refuses a tree without keycodemapdb, so the trees are put in place first:
//   1. from the user's own folder (input qemu-subprojects): a runner without network keeps
//      them there, as folders named like the wrap's `directory` or as the archives of
//      meson's packagecache;
//   2. from our cache (<cache>/sources/qemu-subprojects/), where earlier downloads went;
//   3. by `meson subprojects download`, on a runner with network; what it fetched is cached.
// The wraps pin every revision and archive hash, so the component's key (the tree's commit)
// already names what is built: nothing here goes into a key.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { copyFile, mkdir, readFile, readdir, realpath, rename, rm, stat } from 'node:fs/promises';
import { join, sep } from 'node:path';
import { ConfigError, InfraError } from '../../errors.js';
import { run } from '../../host/exec.js';
import { markUsed } from '../../cache/index.js';
import type { ComponentBuild } from './component.js';

/** Configure stops at once without it when downloads are off (QEMU's configure, "missing subprojects"). */
export const REQUIRED_SUBPROJECTS = ['keycodemapdb'] as const;

/** A wrap is read from the user's tree: at most this much of it. */
const WRAP_MAX_BYTES = 64 * 1024;
const WRAPS_MAX = 500;

export interface Wrap {
  /** The wrap file's base name: what meson's subproject() calls it. */
  name: string;
  /** subprojects/<name>.wrap, for messages. */
  file: string;
  kind: string;
  /** The folder under subprojects/ meson expects the tree in. */
  directory: string;
  url?: string;
  revision?: string;
  sourceUrl?: string;
  sourceFilename?: string;
  sourceHash?: string;
}

/** Where each subproject the tree lacked came from, or why it could not be had. */
export interface SubprojectsReport {
  /** name → 'the tree' | 'qemu-subprojects' | 'cache' | 'download' */
  from: Record<string, string>;
  /** name → what was tried; configure decides whether the build needed it. */
  unavailable: Record<string, string>;
  /** The tree's wraps, as read once. */
  wraps: readonly Wrap[];
}

/** A plain name for a folder or file under subprojects/: a wrap must not point anywhere else. */
function plainName(value: string, file: string, line: number, key: string): string {
  if (!/^[A-Za-z0-9][A-Za-z0-9._+-]{0,199}$/.test(value) || value === '..') {
    throw new ConfigError(`${file}:${line}: ${key} = ${JSON.stringify(value.slice(0, 80))} is not a plain file name (letters, digits, . _ + -)`);
  }
  return value;
}

/** One wrap file's fields (meson's INI-like format: a [wrap-*] section, key = value lines, # comments). */
export function parseWrap(name: string, text: string, file = `subprojects/${name}.wrap`): Wrap {
  let kind = '';
  let current = '';
  const fields = new Map<string, { value: string; line: number }>();
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (!line || line.startsWith('#') || line.startsWith(';')) return;
    const section = /^\[([^\]]+)\]$/.exec(line);
    if (section) {
      current = section[1]!.trim();
      if (!kind && current.startsWith('wrap-')) kind = current;
      return;
    }
    // Only the wrap's own section: [provide] lists dependency names, not fields.
    if (current !== kind || !kind || fields.size > 100) return;
    const eq = line.indexOf('=');
    if (eq > 0 && !fields.has(line.slice(0, eq).trim())) fields.set(line.slice(0, eq).trim(), { value: line.slice(eq + 1).trim(), line: i + 1 });
  });
  if (!kind.startsWith('wrap-')) throw new ConfigError(`${file}: not a meson wrap (no [wrap-file], [wrap-git] … section)`);
  const field = (key: string) => fields.get(key)?.value;
  const dir = fields.get('directory');
  const filename = fields.get('source_filename');
  return {
    name,
    file,
    kind,
    directory: dir ? plainName(dir.value, file, dir.line, 'directory') : name,
    ...(field('url') ? { url: field('url')! } : {}),
    ...(field('revision') ? { revision: field('revision')! } : {}),
    ...(field('source_url') ? { sourceUrl: field('source_url')! } : {}),
    ...(filename ? { sourceFilename: plainName(filename.value, file, filename.line, 'source_filename') } : {}),
    ...(field('source_hash') ? { sourceHash: field('source_hash')!.toLowerCase() } : {}),
  };
}

/** Every wrap in tree/subprojects, by name. */
export async function readWraps(tree: string): Promise<Wrap[]> {
  const dir = join(tree, 'subprojects');
  const names = (await readdir(dir).catch(() => [] as string[])).filter((n) => n.endsWith('.wrap')).sort();
  if (names.length > WRAPS_MAX) throw new ConfigError(`${dir}: ${names.length} wrap files, more than the ${WRAPS_MAX} a QEMU tree has`);
  const wraps: Wrap[] = [];
  for (const n of names) {
    const path = join(dir, n);
    const st = await stat(path);
    if (!st.isFile() || st.size > WRAP_MAX_BYTES) throw new ConfigError(`subprojects/${n}: not a wrap file of at most ${WRAP_MAX_BYTES} bytes`);
    wraps.push(parseWrap(n.slice(0, -'.wrap'.length), await readFile(path, 'utf8')));
  }
  return wraps;
}

const isDir = (p: string) => stat(p).then((s) => s.isDirectory(), () => false);
const isFile = (p: string) => stat(p).then((s) => s.isFile(), () => false);

/**
 * A subproject's folder with something in it besides git's own: a failed `meson subprojects
 * download` leaves an empty clone (only .git) behind, which is not the subproject.
 */
async function hasTree(dir: string): Promise<boolean> {
  const names = await readdir(dir).catch(() => [] as string[]);
  return names.some((n) => n !== '.git');
}

/** The tree already has it: its folder, or (for an archive) meson's packagecache copy. */
async function inTree(tree: string, w: Wrap): Promise<boolean> {
  if (await hasTree(join(tree, 'subprojects', w.directory))) return true;
  return w.sourceFilename !== undefined && (await isFile(join(tree, 'subprojects', 'packagecache', w.sourceFilename)));
}

async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** path, if it resolves inside root (symlinks followed); else undefined. */
async function inside(root: string, path: string): Promise<string | undefined> {
  const real = await realpath(path).catch(() => undefined);
  return real !== undefined && (real === root || real.startsWith(root + sep)) ? real : undefined;
}

/** The folder in our cache for one pinned subproject: its directory plus what pins it. */
function cacheEntry(cacheDir: string, w: Wrap): string | undefined {
  const pin = w.revision ?? w.sourceHash;
  if (!pin || !/^[A-Za-z0-9._-]{1,128}$/.test(pin)) return undefined;
  return join(cacheDir, 'sources', 'qemu-subprojects', `${w.directory}@${pin}`);
}

async function copyTree(from: string, to: string): Promise<void> {
  await run('cp', ['-a', '--', from, to]);
}

/** From the user's folder: the subproject's folder, or its archive (checked against the wrap's hash). */
async function fromSupplied(root: string, label: string, tree: string, w: Wrap): Promise<boolean> {
  const dir = await inside(root, join(root, w.directory));
  if (dir && (await hasTree(dir))) {
    await rm(join(tree, 'subprojects', w.directory), { recursive: true, force: true });
    await copyTree(dir, join(tree, 'subprojects', w.directory));
    return true;
  }
  if (!w.sourceFilename) return false;
  for (const candidate of [join(root, w.sourceFilename), join(root, 'packagecache', w.sourceFilename)]) {
    const file = await inside(root, candidate);
    if (!file || !(await isFile(file))) continue;
    const sum = await sha256File(file);
    if (w.sourceHash && sum !== w.sourceHash) {
      throw new ConfigError(`${label}: ${candidate} has sha256 ${sum}, but ${w.file} pins ${w.sourceHash}`);
    }
    await mkdir(join(tree, 'subprojects', 'packagecache'), { recursive: true });
    await copyFile(file, join(tree, 'subprojects', 'packagecache', w.sourceFilename));
    return true;
  }
  return false;
}

/** Keeps what meson just fetched for the next build (atomically: a half copy is never found). */
async function saveToCache(cacheDir: string, tree: string, w: Wrap): Promise<void> {
  const entry = cacheEntry(cacheDir, w);
  if (!entry || (await isDir(entry))) return;
  const tmp = `${entry}.tmp-${process.pid}`;
  await rm(tmp, { recursive: true, force: true });
  await mkdir(tmp, { recursive: true });
  await copyTree(join(tree, 'subprojects', w.directory), join(tmp, w.directory));
  await rename(tmp, entry).catch(async () => rm(tmp, { recursive: true, force: true }));
}

export interface SubprojectsContext {
  cacheDir: string;
  build: ComponentBuild;
  /** meson first on PATH (build/qemu.ts mesonEnv). */
  env: Record<string, string>;
  supplied?: string;
  suppliedLabel?: string;
  log: (line: string) => void;
}

/**
 * Puts the subprojects the tree lacks in place from the user's folder and our cache (see the
 * top of this file), and downloads the ones configure always needs. The rest are downloaded
 * only when configure says the build needs them (fetchSubprojects): offline, meson spends half
 * a minute of retries on each archive, and online most of them (the Rust crates, libblkio,
 * dtc, slirp) are never used by this build.
 */
export async function ensureSubprojects(tree: string, opts: SubprojectsContext): Promise<SubprojectsReport> {
  const wraps = await readWraps(tree);
  const report: SubprojectsReport = { from: {}, unavailable: {}, wraps };
  const missing: Wrap[] = [];
  for (const w of wraps) {
    if (await inTree(tree, w)) report.from[w.name] = 'the tree';
    else missing.push(w);
  }
  if (missing.length === 0) return report;
  opts.log(`qemu: the tree has no ${missing.map((w) => w.name).join(', ')} (subprojects with only a .wrap, as in upstream's git)`);

  const label = opts.suppliedLabel ?? 'qemu-subprojects';
  const root = opts.supplied !== undefined ? await realpath(opts.supplied).catch(() => undefined) : undefined;
  if (opts.supplied !== undefined && (!root || !(await isDir(root)))) throw new ConfigError(`${label} = ${opts.supplied}: not a folder`);

  for (const w of missing) {
    if (root && (await fromSupplied(root, label, tree, w))) {
      report.from[w.name] = label;
      continue;
    }
    const entry = cacheEntry(opts.cacheDir, w);
    if (entry && (await hasTree(join(entry, w.directory)))) {
      markUsed(opts.cacheDir, entry);
      await rm(join(tree, 'subprojects', w.directory), { recursive: true, force: true });
      await copyTree(join(entry, w.directory), join(tree, 'subprojects', w.directory));
      report.from[w.name] = 'cache';
      continue;
    }
    report.unavailable[w.name] = `not in ${root ? label : `${label} (not given)`}, not cached`;
  }

  const required = REQUIRED_SUBPROJECTS.filter((n) => report.unavailable[n] !== undefined);
  if (required.length > 0 && (await fetchSubprojects(tree, wraps, required, report, opts)).length < required.length) {
    throw missingError(wraps, required.filter((n) => report.unavailable[n] !== undefined), report, label);
  }
  const others = Object.keys(report.unavailable);
  if (others.length > 0) opts.log(`qemu: not in the tree, ${label} or the cache: ${others.join(', ')}; downloaded only if configure needs them`);
  return report;
}

/**
 * Downloads the named subprojects with meson (which applies their patch folders and diff
 * files itself) and caches what it got; returns the names now in place. A failure for one
 * does not stop the others: each is checked on its own afterwards.
 */
export async function fetchSubprojects(tree: string, wraps: readonly Wrap[], names: readonly string[], report: SubprojectsReport, opts: SubprojectsContext): Promise<string[]> {
  const chosen = wraps.filter((w) => names.includes(w.name));
  const logName = `subprojects-${chosen.map((w) => w.name).join('-').slice(0, 80)}.log`;
  const why = await opts.build
    .step(`meson subprojects download ${chosen.map((w) => w.name).join(' ')}`, logName, 'meson', ['subprojects', 'download', ...chosen.map((w) => w.name)], {
      cwd: tree,
      env: opts.env,
    })
    .then(
      () => undefined,
      // git's or meson's own words from the log's tail (the first line is the step's headline).
      (e: unknown) =>
        (e as Error).message
          .split('\n')
          .slice(1)
          .find((l) => /^fatal:|unable to access|could not|failed to download|ERROR:/i.test(l.trim()))
          ?.trim()
          .slice(0, 300) ?? 'meson failed',
    );
  const got: string[] = [];
  for (const w of chosen) {
    if (await hasTree(join(tree, 'subprojects', w.directory))) {
      report.from[w.name] = 'download';
      delete report.unavailable[w.name];
      got.push(w.name);
      await saveToCache(opts.cacheDir, tree, w).catch((e: unknown) => opts.log(`qemu: ${w.name} not cached: ${(e as Error).message}`));
    } else {
      // What a failed clone left behind would pass for the subproject in configure's eyes.
      await rm(join(tree, 'subprojects', w.directory), { recursive: true, force: true });
      report.unavailable[w.name] = `${report.unavailable[w.name] ?? 'not in the tree'}, and the download failed (${why ?? 'meson fetched nothing'}; log ${join(opts.build.logs, logName)})`;
    }
  }
  return got;
}

/** The error for subprojects a build needs and cannot have: what, where it was looked for, and how to provide it. */
export function missingError(wraps: readonly Wrap[], names: readonly string[], report: SubprojectsReport, label = 'qemu-subprojects'): InfraError {
  const lines = names.map((n) => {
    const w = wraps.find((x) => x.name === n);
    const pin = w?.kind === 'wrap-git' ? `${w.url ?? '?'} at ${w.revision ?? '?'}` : `${w?.sourceUrl ?? '?'} (sha256 ${w?.sourceHash ?? '?'})`;
    return `  ${n} (${w?.file ?? `subprojects/${n}.wrap`}: ${w?.kind ?? 'wrap'} ${pin}): ${report.unavailable[n]}`;
  });
  const shapes = names.map((n) => {
    const w = wraps.find((x) => x.name === n);
    return w?.sourceFilename ? `${w.directory}/ or ${w.sourceFilename}` : `${w?.directory ?? n}/`;
  });
  return new InfraError(
    `qemu: the tree lacks meson subprojects the build needs, and they could not be obtained:\n${lines.join('\n')}\n` +
      `On a runner without network, give ${label} a folder holding ${shapes.join(', ')} ` +
      `(e.g. from a QEMU release tarball's subprojects/, or \`meson subprojects download\` run where there is network).`,
  );
}

/**
 * The unavailable subprojects a failed configure's log names in its errors: the ones the build
 * did need. Only error and subproject lines count (the command line names --enable-slirp).
 */
export function neededOf(configureLog: string, wraps: readonly Wrap[], report: SubprojectsReport): string[] {
  const lines = configureLog.split('\n').filter((l) => !l.startsWith('$ ') && /error|subproject/i.test(l));
  // configure's own check names none: it looks for keycodemapdb alone.
  const anonymous = lines.some((l) => /ERROR: missing subprojects/.test(l));
  return Object.keys(report.unavailable).filter((n) => {
    if (anonymous && (REQUIRED_SUBPROJECTS as readonly string[]).includes(n)) return true;
    const dir = wraps.find((x) => x.name === n)?.directory ?? n;
    const word = new RegExp(`(^|[^A-Za-z0-9_.-])(${escape(n)}|${escape(dir)})($|[^A-Za-z0-9_-])`);
    return lines.some((l) => word.test(l));
  });
}

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
