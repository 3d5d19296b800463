// The hypervisor, rebuilt from the Debian source of the very xen-hypervisor package the rig
// resolves (so Debian's config and dom0's tools are the same version), with IOREQ enabled
// and our patches plus the user's applied. Cached as the `xen` component.
import { availableParallelism } from 'node:os';
import { appendFile, copyFile, mkdir, readFile, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { run } from '../../host/exec.js';
import { InfraError } from '../../errors.js';
import { recipeKey } from '../cache.js';
import { CROSS_PREFIX, type Toolchain } from '../toolchain/index.js';
import type { PackageVersion, PrivateApt } from './apt.js';
import { ComponentBuild, findComponent, type Component } from './components.js';
import { applyPatchesLogged, describePatch, patchSeries, type PatchFile } from './patches.js';
import { XEN_BIN, XEN_BUILD_VERSION, XEN_CONFIG_DELTA, XEN_DEBIAN_CONFIG, XEN_MAKE_VARS, XEN_SOURCE } from './recipe.js';
import { debianSourceTree } from './sources.js';

export const XEN_COMPONENT = 'xen';

/** What the xen component's key is computed from, and how to get its inputs. */
export interface XenPlan {
  key: string;
  inputs: ReturnType<typeof xenInputs>;
  /** The binary package whose config (and version) the build starts from. */
  binary: PackageVersion;
  patches: PatchFile[];
}

function xenInputs(binary: PackageVersion, patches: PatchFile[], toolchain: string) {
  return {
    component: XEN_COMPONENT,
    buildVersion: XEN_BUILD_VERSION,
    source: `${XEN_SOURCE}=${binary.version}`,
    config: `${binary.name}=${binary.version}:${XEN_DEBIAN_CONFIG}`,
    configDelta: [...XEN_CONFIG_DELTA],
    make: [...XEN_MAKE_VARS],
    // The pinned compilers (by their key), never whatever compiler the host has.
    toolchain,
    // Content only: renaming a patch file does not rebuild.
    patches: patches.map((p) => p.sha256),
  };
}

export async function planXen(binary: PackageVersion, toolchainKey: string, userPatches: readonly string[] = []): Promise<XenPlan> {
  const patches = await patchSeries('xen', userPatches);
  const inputs = xenInputs(binary, patches, toolchainKey);
  return { key: recipeKey(inputs), inputs, binary, patches };
}

export function findXen(cacheDir: string, plan: XenPlan): Promise<Component | undefined> {
  return findComponent(cacheDir, XEN_COMPONENT, plan.key);
}

/** A patched copy of the source, ready to configure: patches are checked before any build starts. */
export interface PreparedXen {
  plan: XenPlan;
  build: ComponentBuild;
  tree: string;
}

export async function prepareXen(cacheDir: string, apt: PrivateApt, plan: XenPlan, log: (line: string) => void): Promise<PreparedXen> {
  const pristine = await debianSourceTree(cacheDir, apt, XEN_SOURCE, plan.binary.version, log);
  const build = await ComponentBuild.start(cacheDir, XEN_COMPONENT, plan.key, log);
  const tree = join(build.work, 'src');
  try {
    await build.phase('copy source', () => run('cp', ['-a', pristine, tree]));
    await applyPatchesLogged(build.logs, tree, plan.patches, 'xen', log);
  } catch (cause) {
    // Nothing was built: the copied tree is only in the way of the next attempt.
    await rm(build.work, { recursive: true, force: true });
    throw cause;
  }
  return { plan, build, tree };
}

/** Configures and builds the hypervisor; Debian's config comes from the downloaded binary package. */
export async function buildXen(cacheDir: string, prepared: PreparedXen, binaryDeb: string, toolchain: Toolchain): Promise<Component> {
  const { plan, build, tree } = prepared;
  const deb = join(build.work, 'deb');
  await run('dpkg-deb', ['-x', binaryDeb, deb]);
  await copyFile(join(deb, XEN_DEBIAN_CONFIG), join(tree, 'xen', '.config'));
  const out = join(build.work, 'out');
  await mkdir(out);
  const features = await compileHypervisor(build, tree, out, toolchain);
  await compileInitDom0less(build, tree, out, toolchain);

  const host = toolchainRecord(toolchain);
  return build.finish(cacheDir, out, {
    inputs: plan.inputs,
    files: { image: 'xen', config: 'xen.config', syms: 'xen-syms', initDom0less: INIT_DOM0LESS_IN_COMPONENT },
    features,
    built: xenBuiltText(plan, host),
    host,
  });
}

/**
 * Builds the hypervisor in tree, whose xen/.config holds the starting config: appends the
 * IOREQ delta, runs olddefconfig and make, copies xen, xen-syms and the final .config to
 * out, and reads the features off the built config, never off a version number. Shared by
 * every provider that builds Xen.
 */
export async function compileHypervisor(build: ComponentBuild, tree: string, out: string, toolchain: Toolchain): Promise<Record<string, boolean>> {
  const config = join(tree, 'xen', '.config');
  await appendFile(config, `\n${XEN_CONFIG_DELTA.join('\n')}\n`);
  const make = ['-C', 'xen', ...XEN_MAKE_VARS];
  const env = toolchain.env;
  await build.step('make olddefconfig', 'olddefconfig.log', 'make', [...make, 'olddefconfig'], { cwd: tree, env });
  const jobs = availableParallelism();
  await build.step(`make -j${jobs} (about 15 s on 2 idle cores)`, 'build.log', 'make', [...make, `-j${jobs}`], { cwd: tree, env });

  await copyFile(join(tree, 'xen', 'xen'), join(out, 'xen'));
  await copyFile(join(tree, 'xen', '.config'), join(out, 'xen.config'));
  await copyFile(join(tree, 'xen', 'xen-syms'), join(out, 'xen-syms'));

  const builtConfig = await readFile(join(out, 'xen.config'), 'utf8');
  const missing = XEN_CONFIG_DELTA.filter((line) => !builtConfig.split('\n').includes(line));
  if (missing.length > 0) throw new InfraError(`xen: olddefconfig dropped ${missing.join(', ')} from ${config}`);
  // The dom0less properties this Xen parses are read off the built binary when the rig is
  // assembled (rig/xen-properties.ts), the same way for every provider.
  return { ioreq: builtConfig.split('\n').includes('CONFIG_IOREQ_SERVER=y') };
}

/** Where the component keeps init-dom0less: under a tree laid out like dom0's, searched before Debian's packages. */
export const INIT_DOM0LESS_TREE = 'tools';
const INIT_DOM0LESS_IN_COMPONENT = `${INIT_DOM0LESS_TREE}${XEN_BIN}/init-dom0less`;

/**
 * init-dom0less from the patched tree (our 0002 patch: Debian's fails for any domU with two or
 * more vCPUs), compiled against the sysroot's Debian Xen libraries, the very ones dom0's other
 * tools use: two source files, no tools build needed.
 */
async function compileInitDom0less(build: ComponentBuild, tree: string, out: string, toolchain: Toolchain): Promise<void> {
  const target = join(out, INIT_DOM0LESS_IN_COMPONENT);
  await mkdir(dirname(target), { recursive: true });
  const helpers = join(tree, 'tools', 'helpers');
  await build.step('init-dom0less (patched)', 'init-dom0less.log', `${CROSS_PREFIX}gcc`, [
    '-O2', '-Wall', '-o', target,
    join(helpers, 'init-dom0less.c'), join(helpers, 'init-dom-json.c'),
    ...['xenlight', 'xenctrl', 'xenguest', 'xenstore', 'xenforeignmemory', 'xenevtchn', 'xentoollog'].map((l) => `-l${l}`),
  ], { cwd: tree, env: toolchain.env });
}

/** How the hypervisor was made, for the manifest: derived from the plan, so it never drifts from the key. */
export function xenBuiltText(plan: XenPlan, host: Record<string, string>): string {
  const patches = plan.patches.map((p) => `${describePatch(p).file} (${p.from}, sha256 ${p.sha256.slice(0, 16)})`).join(', ') || 'none';
  return (
    `Xen hypervisor built by xen-pvh-virtio (${XEN_BUILD_VERSION}) from Debian source ${XEN_SOURCE}=${plan.binary.version} ` +
    `(Debian's quilt series applied) plus patches: ${patches}; config: ${plan.inputs.config} + ${XEN_CONFIG_DELTA.join(' ')}, ` +
    `make olddefconfig; make ${XEN_MAKE_VARS.join(' ')} with the pinned ${Object.entries(host).map(([k, v]) => `${k} ${v}`).join(', ')}`
  );
}

/** What a component records of the toolchain it was built with (the key holds the toolchain's key). */
export function toolchainRecord(toolchain: Toolchain): Record<string, string> {
  return { toolchain: toolchain.key.slice(0, 16), gcc: toolchain.versions.gcc ?? 'unknown', binutils: toolchain.versions.binutils ?? 'unknown', 'sysroot libc': toolchain.versions.libc ?? 'unknown' };
}
