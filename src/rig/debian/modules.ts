// Kernel modules for a ramdisk: the named ones plus their dependencies (read from each
// module's own modinfo), decompressed, with a modules.dep made by depmod, because Debian
// ships none and busybox modprobe needs it.
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { run } from '../../host/exec.js';
import { InfraError } from '../../errors.js';
import type { PackageTrees } from './packages.js';
import type { RamdiskTree } from './ramdisk.js';

/** modprobe treats '-' and '_' alike; so do we. */
export function moduleKey(name: string): string {
  return name.replace(/-/g, '_');
}

/** Installs the modules and their dependency closure; returns the module names installed. */
export async function installModules(
  tree: RamdiskTree,
  pkgs: PackageTrees,
  kernelRelease: string,
  names: readonly string[],
): Promise<string[]> {
  const moddir = `/lib/modules/${kernelRelease}`;
  const host = (await pkgs.require(moddir)).hostPath;
  const index = await indexModules(host);

  const wanted = [...names];
  const done = new Set<string>();
  while (wanted.length > 0) {
    const key = moduleKey(wanted.shift()!);
    if (done.has(key)) continue;
    done.add(key);
    const rel = index.get(key);
    if (!rel) throw new InfraError(`kernel ${kernelRelease} has no module ${key}`);
    const { stdout } = await run('modinfo', ['-F', 'depends', join(host, rel)]);
    wanted.push(...stdout.trim().split(',').filter(Boolean));
    const dest = await tree.install(`${moddir}/${rel}`);
    if (dest.endsWith('.xz')) await run('xz', ['-d', '-f', join(tree.dir, dest)]);
  }
  for (const meta of ['modules.builtin', 'modules.builtin.modinfo', 'modules.order']) {
    if (await pkgs.find(`${moddir}/${meta}`)) await tree.install(`${moddir}/${meta}`);
  }
  await run('depmod', ['-b', tree.dir, kernelRelease]);
  return [...done].sort();
}

/** Module name → path relative to the release's directory (kernel/drivers/…/x.ko[.xz]). */
async function indexModules(moddir: string): Promise<Map<string, string>> {
  const index = new Map<string, string>();
  const walk = async (rel: string): Promise<void> => {
    for (const name of await readdir(join(moddir, rel))) {
      const path = `${rel}/${name}`;
      if ((await stat(join(moddir, path))).isDirectory()) await walk(path);
      else {
        const m = /^(.*)\.ko(\.xz)?$/.exec(name);
        if (m?.[1]) index.set(moduleKey(m[1]), path);
      }
    }
  };
  await walk('kernel');
  return index;
}
