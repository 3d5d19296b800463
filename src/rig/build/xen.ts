// The hypervisor build every provider that compiles Xen shares: whatever config a tree starts
// from, the IOREQ delta goes on top, and the features are read off the built config. The
// constants here feed the key of every Xen component (xen, source-xen).
import { availableParallelism } from 'node:os';
import { appendFile, copyFile, readFile, stat, utimes } from 'node:fs/promises';
import { join } from 'node:path';
import { InfraError } from '../../errors.js';
import type { Toolchain } from '../toolchain/index.js';
import type { ComponentBuild } from './component.js';

/** Lines appended to the starting config before olddefconfig: IOREQ on Arm is an EXPERT option. */
export const XEN_CONFIG_DELTA = ['CONFIG_EXPERT=y', 'CONFIG_IOREQ_SERVER=y'] as const;
export const XEN_MAKE_VARS = ['XEN_TARGET_ARCH=arm64', 'CROSS_COMPILE=aarch64-linux-gnu-'] as const;

/** A reused tree's xen/.config before defconfig rewrites it. */
export interface LastConfig {
  text: string;
  mtime: Date;
}

export async function configOfLastBuild(tree: string): Promise<LastConfig | undefined> {
  const config = join(tree, 'xen', '.config');
  const st = await stat(config).catch(() => undefined);
  return st?.isFile() ? { text: await readFile(config, 'utf8'), mtime: st.mtime } : undefined;
}

/**
 * Builds the hypervisor in tree, whose xen/.config holds the starting config: appends the
 * IOREQ delta, runs olddefconfig and make, copies xen, xen-syms and the final .config to
 * out, and reads the features off the built config, never off a version number. `extraMake`
 * (the user's, rig: source) goes on every make's command line after ours. `lastConfig` is the
 * .config a reused build tree held before this build's defconfig (configOfLastBuild).
 */
export async function compileHypervisor(
  build: ComponentBuild,
  tree: string,
  out: string,
  toolchain: Toolchain,
  extraMake: readonly string[] = [],
  lastConfig?: LastConfig,
): Promise<Record<string, boolean>> {
  const config = join(tree, 'xen', '.config');
  await appendFile(config, `\n${XEN_CONFIG_DELTA.join('\n')}\n`);
  const make = ['-C', 'xen', ...XEN_MAKE_VARS, ...extraMake];
  const env = toolchain.env;
  await build.step('make olddefconfig', 'olddefconfig.log', 'make', [...make, 'olddefconfig'], { cwd: tree, env });
  // defconfig wrote .config anew: the same config with its old mtime leaves Kconfig's generated
  // headers, and so every object, as they are.
  if (lastConfig && (await readFile(config, 'utf8')) === lastConfig.text) await utimes(config, lastConfig.mtime, lastConfig.mtime);
  const jobs = availableParallelism();
  await build.step(`make -j${jobs} (about 15 s on 2 idle cores)`, 'build.log', 'make', [...make, `-j${jobs}`], { cwd: tree, env });

  await copyFile(join(tree, 'xen', 'xen'), join(out, 'xen'));
  await copyFile(join(tree, 'xen', '.config'), join(out, 'xen.config'));
  await copyFile(join(tree, 'xen', 'xen-syms'), join(out, 'xen-syms'));

  const builtConfig = await readFile(join(out, 'xen.config'), 'utf8');
  const missing = XEN_CONFIG_DELTA.filter((line) => !builtConfig.split('\n').includes(line));
  if (missing.length > 0) throw new InfraError(`xen: olddefconfig dropped ${missing.join(', ')} from ${config}`);
  // The dom0less properties this Xen parses are read off the built binary when the rig is
  // assembled (rig/capabilities.ts), the same way for every provider.
  return { ioreq: builtConfig.split('\n').includes('CONFIG_IOREQ_SERVER=y') };
}
