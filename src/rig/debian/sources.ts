// Pristine Debian source trees under <cache>/sources/<name>_<version>/tree: downloaded with
// the private apt (its deb-src line), unpacked with dpkg-source -x, which applies Debian's
// own quilt series. Builds copy a tree; nothing ever writes into it.
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { run } from '../../host/exec.js';
import { InfraError } from '../../errors.js';
import { markUsed } from '../../cache/index.js';
import type { ComponentBuild } from '../build/component.js';
import type { PrivateApt } from './apt.js';

/** Where a pristine tree lives (whether or not it is there yet). */
export function sourceTreeDir(cacheDir: string, name: string, version: string): string {
  return join(cacheDir, 'sources', `${name}_${version.replace(/:/g, '%3a')}`, 'tree');
}

export async function debianSourceTree(
  cacheDir: string,
  apt: PrivateApt,
  name: string,
  version: string,
  log: (line: string) => void,
): Promise<string> {
  const tree = sourceTreeDir(cacheDir, name, version);
  const root = join(tree, '..');
  if (await stat(tree).then((s) => s.isDirectory(), () => false)) {
    markUsed(cacheDir, root);
    return tree;
  }

  const started = Date.now();
  log(`fetching Debian source ${name}=${version} (${apt.source.suite}) into ${root}`);
  const dsc = await apt.downloadSource(name, version, join(root, 'download'));
  // Unpack in a folder of its own (dpkg-source also links the orig tarball beside its output)
  // and rename, so a crash never leaves a half tree in use.
  const unpackDir = join(root, `unpack-${process.pid}`);
  const tmp = join(unpackDir, 'tree');
  await rm(unpackDir, { recursive: true, force: true });
  await mkdir(unpackDir, { recursive: true });
  const result = await run('dpkg-source', ['--no-check', '-x', dsc, tmp], { allowFailure: true });
  if (result.exitCode !== 0) {
    throw new InfraError(`dpkg-source -x ${dsc} failed:\n${(result.stderr || result.stdout).trim().split('\n').slice(-30).join('\n')}`);
  }
  try {
    await rename(tmp, tree);
  } catch (cause) {
    if (!(await stat(tree).then(() => true, () => false))) throw cause;
  }
  await rm(unpackDir, { recursive: true, force: true });
  log(`Debian source ${name}=${version} unpacked in ${((Date.now() - started) / 1000).toFixed(0)} s`);
  return tree;
}

/** A copy of the pristine tree in the build's work folder (src), for patching and building in. */
export async function debianSourceCopy(cacheDir: string, apt: PrivateApt, name: string, version: string, build: ComponentBuild, log: (line: string) => void): Promise<string> {
  const pristine = await debianSourceTree(cacheDir, apt, name, version, log);
  const tree = join(build.work, 'src');
  await build.phase('copy source', () => run('cp', ['-a', pristine, tree]));
  return tree;
}
