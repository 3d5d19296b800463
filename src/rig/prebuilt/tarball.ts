// Bundles as tarballs, through the host's tar with argument arrays: the files sit at the
// top level (manifest.json beside them), as `rig export` writes them.
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { run } from '../../host/exec.js';

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
 */
export async function unpackTarball(file: string, dir: string): Promise<string> {
  // --no-same-owner: a bundle from elsewhere must not hand its files to another uid when we run as root.
  await run('tar', ['-x', ...compression(file), '-f', file, '-C', dir, '--no-same-owner', '--no-same-permissions']);
  const entries = await readdir(dir);
  if (!entries.includes('manifest.json') && entries.length === 1) {
    const only = join(dir, entries[0]!);
    if ((await stat(only)).isDirectory()) return only;
  }
  return dir;
}
