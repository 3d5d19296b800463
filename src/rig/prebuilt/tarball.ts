// Bundles as tarballs, through the host's GNU tar with argument arrays: the files sit at the
// top level (manifest.json beside them), as `rig export` writes them. A tarball from elsewhere
// is untrusted and tar often runs as root, so it is listed and checked before anything is
// extracted, extracted without owners or special modes, and the tree checked again after.
import { spawn } from 'node:child_process';
import { lstat, readdir, realpath } from 'node:fs/promises';
import { join, posix } from 'node:path';
import { run } from '../../host/exec.js';
import { resolveInside } from '../bundle.js';

export interface TarballLimits {
  /** Bytes of regular files, all together. */
  bytes: number;
  /** Entries of any kind (files, directories, links). */
  entries: number;
}

/** A tarball that is readable but not acceptable as a bundle; the message says which entry and why. */
export class UnsafeTarball extends Error {}

function compression(name: string): string[] {
  return /\.(tar\.gz|tgz)$/.test(name) ? ['-z'] : [];
}

/** `as` is the name the tarball will have (it is written under a temporary one first). */
export async function packTarball(dir: string, names: readonly string[], to: string, as = to): Promise<void> {
  await run('tar', ['-c', ...compression(as), '-f', to, '-C', dir, '--', ...names]);
}

/**
 * Unpacks into dir and returns the directory holding manifest.json: the top level, or the
 * one directory a tarball made by hand (`tar czf x.tgz bundle/`) wraps everything in.
 * Throws UnsafeTarball for what a bundle must not hold.
 */
export async function unpackTarball(file: string, dir: string, limits: TarballLimits): Promise<string> {
  await checkListing(file, limits);
  // No owners, no setuid or other modes as archived, no extended attributes (file capabilities among them).
  await run('tar', ['-x', ...compression(file), '-f', file, '-C', dir, '--no-same-owner', '--no-same-permissions', '--no-xattrs', '--no-acls', '--no-selinux']);
  // Again on what tar made of it: the listing is what tar said it would do, this is what it did.
  await checkTree(dir, limits);
  const entries = await readdir(dir);
  if (!entries.includes('manifest.json') && entries.length === 1) {
    const only = join(dir, entries[0]!);
    if ((await lstat(only)).isDirectory()) return only;
  }
  return dir;
}

/** What `tar -tv` shows by the first letter of the mode: the kinds a bundle may hold, and what the others are. */
const ALLOWED = new Set(['-', 'd', 'l']);
const REFUSED: Record<string, string> = {
  h: 'a hard link',
  c: 'a character device',
  b: 'a block device',
  p: 'a FIFO',
  s: 'a socket',
};
const TAKEN = ' a bundle tarball holds only regular files, directories and symbolic links that stay inside it';
/** `tar -tv --quoting-style=c` line: mode, owner, size, date, "name", and for links -> "target" or link to "target". */
const LISTED = /^(\S)\S*\s+\S+\s+(\S+)\s+[^"]*?("(?:[^"\\]|\\.)*")(?: (?:->|link to) ("(?:[^"\\]|\\.)*"))?$/;
/** No name we take is anywhere near this long; a longer line is refused rather than buffered. */
const MAX_LINE = 64 * 1024;

/** Lists the tarball with tar itself (the same reading extraction will use) and refuses at the first entry a bundle must not hold. */
function checkListing(file: string, limits: TarballLimits): Promise<void> {
  // spawn, not host/exec's run, which keeps all output: a hostile listing can be huge, so it
  // is read line by line and tar is stopped at the first refusal.
  const tar = spawn('tar', ['-t', '-v', ...compression(file), '--quoting-style=c', '--numeric-owner', '--full-time', '-f', file], {
    env: { ...process.env, LC_ALL: 'C', TZ: 'UTC' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let refusal: string | undefined;
  let entries = 0;
  let bytes = 0;
  let pending = '';
  let said = '';
  const refuse = (why: string) => {
    refusal ??= why;
    tar.kill('SIGKILL');
  };
  const check = (line: string) => {
    const m = LISTED.exec(line);
    if (!m) return refuse(`tar lists an entry this tool cannot read: ${line.slice(0, 200)}`);
    const [, mode, size, quotedName, quotedTarget] = m;
    const name = unquote(quotedName!);
    const shown = JSON.stringify(name);
    if (++entries > limits.entries) return refuse(`it holds more than ${limits.entries} entries, more than a bundle may have`);
    if (!ALLOWED.has(mode!)) return refuse(`${shown} is ${REFUSED[mode!] ?? `an entry of type '${mode}'`};${TAKEN}`);
    if (name.startsWith('/')) return refuse(`${shown} is an absolute path`);
    if (name.split('/').includes('..')) return refuse(`${shown} leads out of the bundle (a .. component)`);
    if (mode === 'l') {
      const target = unquote(quotedTarget ?? '""');
      const lands = posix.normalize(posix.join(posix.dirname(name), target));
      if (target.startsWith('/') || lands === '..' || lands.startsWith('../')) return refuse(`${shown} is a symbolic link to ${JSON.stringify(target)}, outside the bundle`);
    }
    if (mode === '-') {
      bytes += Number(size);
      if (!(bytes <= limits.bytes)) return refuse(`it unpacks to more than ${limits.bytes} bytes, more than a bundle may have`);
    }
  };
  tar.stdout.setEncoding('latin1');
  tar.stdout.on('data', (chunk: string) => {
    if (refusal) return;
    pending += chunk;
    const lines = pending.split('\n');
    pending = lines.pop()!;
    for (const line of lines) if (!refusal && line !== '') check(line);
    if (pending.length > MAX_LINE) refuse(`tar lists an entry whose name is longer than ${MAX_LINE} bytes`);
  });
  tar.stderr.setEncoding('utf8');
  tar.stderr.on('data', (chunk: string) => (said = (said + chunk).slice(-2000)));
  return new Promise((resolve, reject) => {
    tar.once('error', reject);
    tar.once('close', (code) => {
      if (refusal) return reject(new UnsafeTarball(refusal));
      if (pending !== '') check(pending);
      if (refusal) return reject(new UnsafeTarball(refusal));
      if (code !== 0) return reject(new Error(`tar -t exited with ${code}${said.trim() ? `:\n${said.trim().split('\n').slice(-20).join('\n')}` : ''}`));
      resolve();
    });
  });
}

/**
 * A name as `--quoting-style=c` prints it, back to the bytes it stands for. The listing is read
 * as latin1, so each byte is one character until the name is decoded as UTF-8 here.
 */
function unquote(quoted: string): string {
  const bytes: number[] = [];
  const ESCAPES: Record<string, number> = { a: 7, b: 8, f: 12, n: 10, r: 13, t: 9, v: 11 };
  for (let i = 1; i < quoted.length - 1; i++) {
    const c = quoted[i]!;
    if (c !== '\\') {
      bytes.push(c.charCodeAt(0));
      continue;
    }
    const next = quoted[++i]!;
    const octal = /^[0-7]{3}/.exec(quoted.slice(i, i + 3));
    if (octal) {
      bytes.push(parseInt(octal[0], 8));
      i += 2;
    } else {
      bytes.push(ESCAPES[next] ?? next.charCodeAt(0));
    }
  }
  return Buffer.from(bytes).toString('utf8');
}

/** Walks what tar made, following no link: the same rules, on the tree itself. */
async function checkTree(dir: string, limits: TarballLimits): Promise<void> {
  const root = await realpath(dir);
  let entries = 0;
  let bytes = 0;
  const walk = async (rel: string): Promise<void> => {
    for (const name of await readdir(join(root, rel))) {
      const path = rel ? `${rel}/${name}` : name;
      const st = await lstat(join(root, path));
      if (++entries > limits.entries) throw new UnsafeTarball(`it holds more than ${limits.entries} entries, more than a bundle may have`);
      if (st.isDirectory()) await walk(path);
      else if (st.isFile()) {
        bytes += st.size;
        if (bytes > limits.bytes) throw new UnsafeTarball(`it unpacks to more than ${limits.bytes} bytes, more than a bundle may have`);
      } else if (st.isSymbolicLink()) {
        const lands = await resolveInside(root, path);
        if (lands.kind === 'outside' || lands.kind === 'loop') throw new UnsafeTarball(`${JSON.stringify(path)} unpacked as a symbolic link out of the bundle`);
      } else throw new UnsafeTarball(`${JSON.stringify(path)} unpacked as something other than a regular file, directory or symbolic link;${TAKEN}`);
    }
  };
  await walk('');
}
