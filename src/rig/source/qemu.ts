// QEMU from the user's ref, cross-built for dom0 exactly as the debian rig builds it, but
// linked against the Xen libraries built from the user's Xen ref (libxenctrl is version-locked
// to the hypervisor), never the host's libxen-dev. Cached as the `source-qemu` component,
// keyed by its commit, patches and flags and by the source-xen component it links against.
import { mkdir, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { InfraError } from '../../errors.js';
import { recipeKey } from '../cache.js';
import type { PackageVersion, PrivateApt } from '../debian/apt.js';
import { ComponentBuild, findComponent, type Component } from '../debian/components.js';
import { readElfNeeds } from '../debian/elf.js';
import { applyPatchesLogged, describePatch, userPatchSeries, type PatchFile } from '../debian/patches.js';
import { compileQemu, mesonTool } from '../debian/qemu-build.js';
import { toolchainRecord } from '../debian/xen-build.js';
import { CROSS_PREFIX, pointPkgConfigAt, type Toolchain } from '../toolchain/index.js';
import { QEMU_CONFIGURE_FLAGS, QEMU_DEVICES, QEMU_TARGET } from '../debian/recipe.js';
import { materialize, materializeText, originKey, originText, type TreeOrigin } from './origin.js';
import { SOURCE_QEMU_BUILD_VERSION, SOURCE_QEMU_COMPONENT, STAGE_LIBDIR } from './recipe.js';


export interface SourceQemuPlan {
  key: string;
  inputs: ReturnType<typeof qemuInputs>;
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
  const inputs = qemuInputs(origin, meson, xenKey, patches, toolchainKey);
  return { key: recipeKey(inputs), inputs, origin, meson, patches };
}

export function findSourceQemu(cacheDir: string, plan: SourceQemuPlan): Promise<Component | undefined> {
  return findComponent(cacheDir, SOURCE_QEMU_COMPONENT, plan.key);
}

export interface PreparedSourceQemu {
  plan: SourceQemuPlan;
  build: ComponentBuild;
  tree: string;
}

export async function prepareSourceQemu(cacheDir: string, plan: SourceQemuPlan, log: (line: string) => void): Promise<PreparedSourceQemu> {
  const build = await ComponentBuild.start(cacheDir, SOURCE_QEMU_COMPONENT, plan.key, log);
  const tree = join(build.work, 'src');
  try {
    log(materializeText('qemu', plan.origin));
    await build.phase('fetch', () => materialize(plan.origin, tree, (text) => writeFile(join(build.logs, 'fetch.log'), text)));
    await applyPatchesLogged(build.logs, tree, plan.patches, 'qemu', log);
  } catch (cause) {
    await rm(build.work, { recursive: true, force: true });
    throw cause;
  }
  return { plan, build, tree };
}

export async function buildSourceQemu(cacheDir: string, prepared: PreparedSourceQemu, apt: PrivateApt, xen: Component, toolchain: Toolchain): Promise<Component> {
  const { plan, build, tree } = prepared;
  const meson = await mesonTool(cacheDir, apt, plan.meson);
  const stage = join(xen.dir, xen.record.files.stage!);
  const pkgconfig = await stagedPkgConfig(stage, join(build.work, 'pkgconfig'));
  const out = join(build.work, 'out');
  await mkdir(out);
  const features = await compileQemu(build, tree, out, {
    meson,
    // Host paths stay out of the key: the Xen component's key stands for them.
    configure: [...plan.inputs.configure, `--extra-ldflags=-Wl,-rpath-link,${join(stage, STAGE_LIBDIR)}`],
    toolchain,
    // Searched before the sysroot's .pc files, so libxen* resolve to the tree's own build.
    env: { PKG_CONFIG_PATH: pkgconfig },
  });
  await checkXenLibraries(join(out, QEMU_TARGET), join(stage, STAGE_LIBDIR));

  const host = toolchainRecord(toolchain);
  return build.finish(cacheDir, out, {
    inputs: plan.inputs,
    files: { binary: QEMU_TARGET },
    features,
    built: sourceQemuBuiltText(plan, host),
    host,
  });
}

/**
 * Copies of the staged Xen .pc files with their /usr paths pointed into the stage, so
 * pkg-config hands QEMU our headers and libraries and nothing of the sysroot's libxen-dev.
 */
async function stagedPkgConfig(stage: string, dir: string): Promise<string> {
  const from = join(stage, STAGE_LIBDIR, 'pkgconfig');
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
