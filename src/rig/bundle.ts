// Reading, writing and checking rig bundles on disk: a directory of files plus manifest.json.
// Every file is read where it really is and only from inside the bundle: a symlink may point
// elsewhere in the bundle, never out of it, so a bundle from elsewhere cannot make us read,
// copy or describe (sha256, size, bytes) a file of this host.
import { createHash } from 'node:crypto';
import { constants, createReadStream, createWriteStream, type Stats } from 'node:fs';
import { chmod, lstat, mkdir, open, readlink, realpath, writeFile, type FileHandle } from 'node:fs/promises';
import { dirname, isAbsolute, join, normalize, relative, sep } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { InfraError } from '../errors.js';
import { isPlainBundlePath, MANIFEST_FILE, MANIFEST_MAX_BYTES, MANIFEST_SCHEMA_VERSION, type FileRole, type Rig, type RigManifest } from './manifest.js';

export async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

export async function writeManifest(dir: string, manifest: RigManifest): Promise<void> {
  await writeFile(join(dir, MANIFEST_FILE), JSON.stringify(manifest, null, 2) + '\n');
}

/** Reads a bundle's manifest; an unreadable or foreign manifest is an InfraError naming the file. */
export async function readRig(dir: string): Promise<Rig> {
  const file = join(dir, MANIFEST_FILE);
  let manifest: RigManifest;
  try {
    manifest = JSON.parse(await readManifestText(dir)) as RigManifest;
  } catch (cause) {
    throw new InfraError(`cannot read rig manifest ${file}: ${(cause as Error).message}`, { cause });
  }
  if (manifest === null || typeof manifest !== 'object') throw new InfraError(`${file}: not a manifest (a JSON object)`);
  if (manifest.schemaVersion !== MANIFEST_SCHEMA_VERSION) {
    throw new InfraError(`${file}: manifest schema ${String(manifest.schemaVersion)}, expected ${MANIFEST_SCHEMA_VERSION}`);
  }
  if (!Array.isArray(manifest.files)) throw new InfraError(`${file}: manifest lists no files`);
  return { dir, manifest };
}

/** Checks every listed file's size and sha256; the error names each file that does not match. */
export async function verifyRig(rig: Rig): Promise<void> {
  const problems = await bundleProblems(rig);
  if (problems.length > 0) throw new InfraError(`rig bundle ${rig.dir} is damaged:\n  ${problems.join('\n  ')}`);
}

/**
 * What is wrong with each file the manifest lists ("Image (kernel) is missing"), each checked
 * where it really is: inside the bundle, a regular file, with the listed sha256 and size. With
 * `copyTo`, the bytes that were hashed are written there under the same paths, so a copy holds
 * exactly what was checked even if the source changes meanwhile.
 */
export async function bundleProblems(rig: Rig, copyTo?: string): Promise<string[]> {
  const problems: string[] = [];
  // A bundle directory that does not resolve holds none of its files: each is reported missing below.
  const root = await realpath(rig.dir).catch(() => undefined);
  for (const f of rig.manifest.files) {
    const name = `${f.path} (${f.role})`;
    if (!isPlainBundlePath(f.path)) {
      problems.push(`${name} is not a plain path inside the bundle`);
      continue;
    }
    const opened = root === undefined ? { problem: 'is missing' } : await openInside(root, f.path);
    if ('problem' in opened) {
      problems.push(`${name} ${opened.problem}`);
      continue;
    }
    try {
      const sum = await hashCopy(opened.handle, opened.stat, copyTo === undefined ? undefined : join(copyTo, f.path));
      if (sum !== f.sha256) problems.push(`${name} has sha256 ${sum}, manifest says ${f.sha256}`);
      else if (opened.stat.size !== f.size) problems.push(`${name} has ${opened.stat.size} bytes, manifest says ${f.size}`);
    } finally {
      await opened.handle.close();
    }
  }
  return problems;
}

/** The absolute path of the file that plays a role in the rig. */
export function rigFile(rig: Rig, role: FileRole): string {
  const f = rig.manifest.files.find((x) => x.role === role);
  if (!f) {
    const roles = rig.manifest.files.map((x) => x.role).join(', ');
    throw new InfraError(`rig ${rig.dir} has no ${role} file (it has: ${roles})`);
  }
  return isAbsolute(f.path) ? f.path : join(rig.dir, f.path);
}

/** Where a path inside a bundle really leads; `outside` and `loop` are found without looking outside. */
export type Inside = { kind: 'file' | 'other'; path: string; stat: Stats } | { kind: 'missing' | 'outside' | 'loop' };

/** How many symlinks one path may pass through (Linux's own limit). */
const MAX_LINKS = 40;

/**
 * Resolves rel inside root (itself already a real path), one component at a time: a symlink's
 * target is followed only while it stays inside root, and nothing outside is ever looked at,
 * so the answer tells nothing about the host's files.
 */
export async function resolveInside(root: string, rel: string): Promise<Inside> {
  let at = root;
  const todo = rel.split('/');
  let links = 0;
  while (todo.length > 0) {
    const part = todo.shift()!;
    if (part === '' || part === '.') continue;
    if (part === '..') {
      if (at === root) return { kind: 'outside' };
      at = dirname(at);
      continue;
    }
    const next = join(at, part);
    const st = await lstat(next).catch((e: NodeJS.ErrnoException) => (e.code === 'ENOENT' || e.code === 'ENOTDIR' ? undefined : Promise.reject(e)));
    if (!st) return { kind: 'missing' };
    if (st.isSymbolicLink()) {
      if (++links > MAX_LINKS) return { kind: 'loop' };
      const target = await readlink(next);
      if (isAbsolute(target)) {
        // An absolute target counts only when it names a place inside the bundle.
        const n = normalize(target);
        if (n !== root && !n.startsWith(root + sep)) return { kind: 'outside' };
        at = root;
        todo.unshift(...relative(root, n).split(sep));
      } else {
        todo.unshift(...target.split('/'));
      }
      continue;
    }
    if (todo.some((p) => p !== '' && p !== '.') && !st.isDirectory()) return { kind: 'missing' };
    at = next;
  }
  const st = await lstat(at);
  return { kind: st.isFile() ? 'file' : 'other', path: at, stat: st };
}

type Opened = { handle: FileHandle; stat: Stats } | { problem: string };

/** Opens rel inside root for reading, or says, as a predicate, why it cannot be read from there. */
async function openInside(root: string, rel: string): Promise<Opened> {
  const found = await resolveInside(root, rel);
  switch (found.kind) {
    case 'missing':
      return { problem: 'is missing' };
    case 'outside':
      return { problem: 'leads outside the bundle (through a symbolic link)' };
    case 'loop':
      return { problem: 'is a loop of symbolic links' };
    case 'other':
      return { problem: 'is not a regular file' };
  }
  // O_NONBLOCK: should a FIFO have been put there since, opening it must not hang.
  const handle = await open(found.path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  const st = await handle.stat();
  // What was opened must be what was resolved: a path swapped meanwhile (a directory for a
  // symlink out) is refused, not read.
  if (!st.isFile() || st.ino !== found.stat.ino || st.dev !== found.stat.dev) {
    await handle.close();
    return { problem: 'changed while it was being read' };
  }
  return { handle, stat: st };
}

/** The manifest's text, read from inside dir and bounded; errors say why in a sentence about "it". */
async function readManifestText(dir: string): Promise<string> {
  const max = MANIFEST_MAX_BYTES;
  // As in bundleProblems: no directory, no manifest, and the error says so.
  const root = await realpath(dir).catch(() => undefined);
  const opened = root === undefined ? { problem: 'is missing' } : await openInside(root, MANIFEST_FILE);
  if ('problem' in opened) throw new Error(`it ${opened.problem}`);
  try {
    const parts: Buffer[] = [];
    let seen = 0;
    for await (const chunk of opened.handle.createReadStream({ autoClose: false, start: 0 })) {
      seen += (chunk as Buffer).length;
      if (seen > max) throw new Error(`it is larger than ${max} bytes, more than a manifest may have`);
      parts.push(chunk as Buffer);
    }
    return Buffer.concat(parts).toString('utf8');
  } finally {
    await opened.handle.close();
  }
}

/** sha256 of an open file, read once; with `to`, the same bytes are written there. */
async function hashCopy(handle: FileHandle, st: Stats, to: string | undefined): Promise<string> {
  const hash = createHash('sha256');
  const source = handle.createReadStream({ autoClose: false, start: 0 });
  if (to === undefined) {
    for await (const chunk of source) hash.update(chunk as Buffer);
    return hash.digest('hex');
  }
  await mkdir(dirname(to), { recursive: true });
  const hashing = new Transform({
    transform(chunk: Buffer, _enc, done) {
      hash.update(chunk);
      done(null, chunk);
    },
  });
  await pipeline(source, hashing, createWriteStream(to, { mode: 0o600 }));
  // Executable or not, nothing more: no owner's setuid bits or world-writable modes come along.
  await chmod(to, st.mode & 0o111 ? 0o755 : 0o644);
  return hash.digest('hex');
}
