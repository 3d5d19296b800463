// What QEMU takes from a Xen build: the public and tools headers it compiles against, the
// pkg-config files that name them, and the libraries it links against (their names and the
// symbols they export). Two Xen builds that agree on all of that give the same QEMU, so a
// QEMU built for one serves the other: bisecting the hypervisor, or a tools change that
// touches no interface, then builds QEMU once instead of at every step. The libraries'
// bytes are not compared: they hold their build folder's path, which differs per build.
import { createHash } from 'node:crypto';
import { lstat, readFile, readdir, readlink } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { run } from '../../host/exec.js';
import { STAGE_LIBDIR } from './recipe.js';

async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (d: string): Promise<void> => {
    const names = await readdir(d).catch(() => [] as string[]);
    for (const n of names.sort()) {
      const p = join(d, n);
      const st = await lstat(p);
      if (st.isDirectory()) await walk(p);
      else out.push(p);
    }
  };
  await walk(dir);
  return out;
}

const sha256 = (data: string | Buffer) => createHash('sha256').update(data).digest('hex');

/**
 * The interface hash of a staged Xen build (source-xen's stage/): headers and .pc files by
 * content, each shared library by name (symlinks by target) and by its exported symbols.
 * nm is the pinned toolchain's.
 */
export async function xenInterfaceHash(stage: string, nm: string): Promise<string> {
  const parts: string[] = [];
  for (const file of await filesUnder(join(stage, 'usr', 'include'))) {
    parts.push(`header ${relative(stage, file)} ${sha256(await readFile(file))}`);
  }
  const libdir = join(stage, STAGE_LIBDIR);
  for (const file of await filesUnder(join(libdir, 'pkgconfig'))) {
    if (file.endsWith('.pc')) parts.push(`pc ${relative(stage, file)} ${sha256(await readFile(file))}`);
  }
  for (const name of (await readdir(libdir).catch(() => [] as string[])).sort()) {
    if (!/\.so(\.|$)/.test(name)) continue;
    const path = join(libdir, name);
    const st = await lstat(path);
    if (st.isSymbolicLink()) {
      parts.push(`link ${name} -> ${await readlink(path)}`);
      continue;
    }
    if (!st.isFile()) continue;
    const symbols = (await run(nm, ['-D', '--defined-only', '--format=posix', path])).stdout
      .split('\n')
      .map((l) => l.split(' ').slice(0, 2).join(' '))
      .filter(Boolean)
      .sort();
    parts.push(`library ${name} ${sha256(symbols.join('\n'))}`);
  }
  return sha256(parts.join('\n'));
}
