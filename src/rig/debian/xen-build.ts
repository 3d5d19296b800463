// The hypervisor, rebuilt from the Debian source of the very xen-hypervisor package the rig
// resolves (so Debian's config and dom0's tools are the same version), with IOREQ enabled
// and our patches plus the user's applied. Cached as the `xen` component.
import { copyFile, mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { run } from '../../host/exec.js';
import type { ComponentBuild } from '../build/component.js';
import { describePatch, type PatchFile } from '../build/patches.js';
import { planComponent, prepareComponent, type ComponentPlan, type ComponentRecipe, type PreparedComponent } from '../build/recipe.js';
import { compileHypervisor, XEN_CONFIG_DELTA, XEN_MAKE_VARS } from '../build/xen.js';
import { CROSS_PREFIX, type Toolchain } from '../toolchain/index.js';
import type { PackageVersion, PrivateApt } from './apt.js';
import { patchSeries } from './patches.js';
import { XEN_BIN, XEN_BUILD_VERSION, XEN_DEBIAN_CONFIG, XEN_SOURCE } from './recipe.js';
import { debianSourceCopy } from './sources.js';

export const XEN_COMPONENT = 'xen';

/** What the xen component's key is computed from, and how to get its inputs. */
export interface XenPlan extends ComponentPlan<ReturnType<typeof xenInputs>> {
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
  return { ...planComponent(xenInputs(binary, patches, toolchainKey)), binary, patches };
}

/** The xen component: Debian's source, patched, configured from the binary package's own config. */
export function xenComponent(apt: PrivateApt, plan: XenPlan): ComponentRecipe {
  return {
    plan,
    label: 'xen',
    patches: plan.patches,
    fetch: ({ cacheDir, build, log }) => debianSourceCopy(cacheDir, apt, XEN_SOURCE, plan.binary.version, build, log),
    async make({ build, tree, out, toolchain, host, log }) {
      const binaryDeb = (await apt.download([plan.binary], log)).get(plan.binary.name)!;
      const deb = join(build.work, 'deb');
      await run('dpkg-deb', ['-x', binaryDeb, deb]);
      await copyFile(join(deb, XEN_DEBIAN_CONFIG), join(tree, 'xen', '.config'));
      const features = await compileHypervisor(build, tree, out, toolchain);
      await compileInitDom0less(build, tree, out, toolchain);
      return {
        files: { image: 'xen', config: 'xen.config', syms: 'xen-syms', initDom0less: INIT_DOM0LESS_IN_COMPONENT },
        features,
        built: xenBuiltText(plan, host),
      };
    },
  };
}

/** A patched copy of the source, ready to configure, without building it. */
export function prepareXen(cacheDir: string, apt: PrivateApt, plan: XenPlan, log: (line: string) => void): Promise<PreparedComponent> {
  return prepareComponent(cacheDir, xenComponent(apt, plan), log);
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
