// QEMU from the user's ref, cross-built for dom0 exactly as the debian rig builds it, but
// linked against the Xen libraries built from the user's Xen ref (libxenctrl is version-locked
// to the hypervisor), never the host's libxen-dev. Cached as the `source-qemu` component,
// keyed by its commit, patches and flags and by the source-xen component it links against.
import { mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { InfraError } from '../../errors.js';
import { findComponent } from '../build/component.js';
import { readElfNeeds } from '../build/elf.js';
import { originKey, originText, type TreeOrigin } from '../build/origin.js';
import { describePatch, userPatchSeries, type PatchFile } from '../build/patches.js';
import { QEMU_CONFIGURE_FLAGS, QEMU_DEVICES, QEMU_TARGET, compileQemu } from '../build/qemu.js';
import { fetchOrigin, planComponent, type ComponentPlan, type ComponentRecipe, type MakeContext, type Made } from '../build/recipe.js';
import type { PackageVersion, PrivateApt } from '../debian/apt.js';
import { mesonTool } from '../debian/meson.js';
import { CROSS_PREFIX, pointPkgConfigAt } from '../toolchain/index.js';
import { SOURCE_QEMU_BUILD_VERSION, SOURCE_QEMU_COMPONENT, SOURCE_XEN_COMPONENT, STAGE_LIBDIR } from './recipe.js';

export interface SourceQemuPlan extends ComponentPlan<ReturnType<typeof qemuInputs>> {
  origin: TreeOrigin;
  meson: PackageVersion;
  patches: PatchFile[];
}

function qemuInputs(origin: TreeOrigin, meson: PackageVersion, xenKey: string, patches: PatchFile[], toolchain: string) {
  return {
    component: SOURCE_QEMU_COMPONENT,
    buildVersion: SOURCE_QEMU_BUILD_VERSION,
    ...originKey(origin),
    meson: `${meson.name}=${meson.version}`,
    devices: QEMU_DEVICES,
    configure: [`--cross-prefix=${CROSS_PREFIX}`, ...QEMU_CONFIGURE_FLAGS],
    target: QEMU_TARGET,
    // The Xen libraries it links against: a new Xen build means a new QEMU build.
    xen: xenKey,
    toolchain,
    patches: patches.map((p) => p.sha256),
  };
}

export async function planSourceQemu(
  origin: TreeOrigin,
  meson: PackageVersion,
  xenKey: string,
  toolchainKey: string,
  userPatches: readonly string[] = [],
): Promise<SourceQemuPlan> {
  const patches = await userPatchSeries(userPatches);
  return { ...planComponent(qemuInputs(origin, meson, xenKey, patches, toolchainKey)), origin, meson, patches };
}

/**
 * The source-qemu component, linked against the source-xen component its plan names (built
 * before it); `apt` lists trixie, where meson comes from.
 */
export function sourceQemuComponent(apt: PrivateApt, plan: SourceQemuPlan): ComponentRecipe {
  return {
    plan,
    label: 'qemu',
    patches: plan.patches,
    fetch: ({ build, log }) => fetchOrigin(build, 'qemu', plan.origin, log),
    make: (ctx) => makeSourceQemu(ctx, apt, plan),
  };
}

async function makeSourceQemu({ cacheDir, build, tree, out, toolchain, host }: MakeContext, apt: PrivateApt, plan: SourceQemuPlan): Promise<Made> {
  const xen = await findComponent(cacheDir, SOURCE_XEN_COMPONENT, plan.inputs.xen);
  if (!xen) throw new InfraError(`source-qemu: the source-xen component ${plan.inputs.xen.slice(0, 12)} it links against is not in the cache`);
  const meson = await mesonTool(cacheDir, apt, plan.meson);
  const stage = join(xen.dir, xen.record.files.stage!);
  const pkgconfig = await stagedPkgConfig(stage, join(build.work, 'pkgconfig'));
  const features = await compileQemu(build, tree, out, {
    meson,
    // Host paths stay out of the key: the Xen component's key stands for them.
    configure: [...plan.inputs.configure, `--extra-ldflags=-Wl,-rpath-link,${join(stage, STAGE_LIBDIR)}`],
    toolchain,
    // Searched before the sysroot's .pc files, so libxen* resolve to the tree's own build.
    env: { PKG_CONFIG_PATH: pkgconfig },
  });
  await checkXenLibraries(join(out, QEMU_TARGET), join(stage, STAGE_LIBDIR));
  return { files: { binary: QEMU_TARGET }, features, built: sourceQemuBuiltText(plan, host) };
}

/**
 * Copies of the staged Xen .pc files with their /usr paths pointed into the stage, so
 * pkg-config hands QEMU our headers and libraries and nothing of the sysroot's libxen-dev.
 */
async function stagedPkgConfig(stage: string, dir: string): Promise<string> {
  const from = join(stage, STAGE_LIBDIR, 'pkgconfig');
  // No such folder means no .pc files, which the error just below reports.
  const names = (await readdir(from).catch(() => [] as string[])).filter((n) => n.endsWith('.pc'));
  if (names.length === 0) throw new InfraError(`the Xen tools built from source installed no pkg-config files in ${from}`);
  await mkdir(dir, { recursive: true });
  for (const name of names) {
    const text = await readFile(join(from, name), 'utf8');
    await writeFile(join(dir, name), pointPkgConfigAt(text, stage));
  }
  return dir;
}

/** Every libxen* the binary needs must be one we built: a host libxen-dev match would be a silent mismatch. */
async function checkXenLibraries(binary: string, libdir: string): Promise<void> {
  const needs = readElfNeeds(await readFile(binary)).needed.filter((n) => n.startsWith('libxen'));
  if (needs.length === 0) throw new InfraError(`${binary} links no Xen library: QEMU was configured without Xen support`);
  const ours = new Set(await readdir(libdir));
  const foreign = needs.filter((n) => !ours.has(n));
  if (foreign.length > 0) throw new InfraError(`${binary} needs ${foreign.join(', ')}, which the Xen built from source does not provide (in ${libdir}): it linked against other Xen libraries`);
}

export function sourceQemuBuiltText(plan: SourceQemuPlan, host: Record<string, string>): string {
  const patches = plan.patches.map((p) => `${describePatch(p).file} (sha256 ${p.sha256.slice(0, 16)})`).join(', ') || 'none';
  return (
    `${QEMU_TARGET} built by xen-pvh-virtio (${SOURCE_QEMU_BUILD_VERSION}) from ${originText(plan.origin)} ` +
    `plus the user's patches: ${patches}; configure ${plan.inputs.configure.filter((f) => !f.startsWith('--disable-') || f === '--disable-tcg').join(' ')} ` +
    `(and unused features disabled); meson ${plan.meson.version}; linked against the Xen libraries built from the Xen ref (component ${plan.inputs.xen.slice(0, 12)}) ` +
    `built with the pinned ${Object.entries(host).map(([k, v]) => `${k} ${v}`).join(', ')} (bookworm arm64 sysroot); stripped`
  );
}
