// QEMU from the user's ref, cross-built for dom0 exactly as the debian rig builds it, but
// linked against the Xen libraries built from the user's Xen ref (libxenctrl is version-locked
// to the hypervisor), never the host's libxen-dev. Cached as the `source-qemu` component,
// keyed by its commit, patches and flags and by the source-xen component it links against.
import { copyFile, mkdir, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { InfraError } from '../../errors.js';
import { buildArgsText } from '../../config/build-args.js';
import { findComponent } from '../build/component.js';
import { readElfNeeds } from '../build/elf.js';
import { localSourcesOf, originKey, originText, type TreeOrigin } from '../build/origin.js';
import { describePatch, userPatchSeries, type PatchFile } from '../build/patches.js';
import { QEMU_CONFIGURE_FLAGS, QEMU_DEVICES, QEMU_TARGET, compileQemu, mesonEnv } from '../build/qemu.js';
import type { ReusedTree } from '../build/build-tree.js';
import { fetchOrigin, planComponent, type ComponentPlan, type ComponentRecipe, type MakeContext, type Made } from '../build/recipe.js';
import type { PackageVersion, PrivateApt } from '../debian/apt.js';
import { mesonTool } from '../debian/meson.js';
import { recipeKey } from '../cache.js';
import { xenInterfaceHash } from './xen-interface.js';
import type { ComponentBuild } from '../build/component.js';
import { ensureSubprojects, fetchSubprojects, missingError, neededOf, type SubprojectsContext, type SubprojectsReport } from '../build/subprojects.js';
import { CROSS_PREFIX, pointPkgConfigAt } from '../toolchain/index.js';
import { SOURCE_QEMU_BUILD_VERSION, SOURCE_QEMU_COMPONENT, SOURCE_TREES_UNDER_TEST, SOURCE_XEN_COMPONENT, STAGE_LIBDIR } from './recipe.js';

export interface SourceQemuPlan extends ComponentPlan<ReturnType<typeof qemuInputs>> {
  origin: TreeOrigin;
  meson: PackageVersion;
  patches: PatchFile[];
  /**
   * The user's folder of meson subprojects (qemu-subprojects), for trees shaped like upstream's
   * git, and how the user names that input; not keyed (the wraps pin them).
   */
  subprojects?: { path?: string; label: string };
  /** Built in the cache's persistent build tree and build folder (incremental-builds); not keyed. */
  incremental: boolean;
}

function qemuInputs(origin: TreeOrigin, meson: PackageVersion, xenKey: string, patches: PatchFile[], toolchain: string, userConfigure: readonly string[]) {
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
    // The user's configure arguments (qemu-configure-args), only when given: a build without them keeps its key.
    ...(userConfigure.length > 0 ? { userConfigure: [...userConfigure] } : {}),
  };
}

export async function planSourceQemu(
  origin: TreeOrigin,
  meson: PackageVersion,
  xenKey: string,
  toolchainKey: string,
  userPatches: readonly string[] = [],
  subprojects?: { path?: string; label: string },
  configureArgs: readonly string[] = [],
  incremental = false,
): Promise<SourceQemuPlan> {
  const patches = await userPatchSeries(userPatches);
  return { ...planComponent(qemuInputs(origin, meson, xenKey, patches, toolchainKey, configureArgs)), origin, meson, patches, incremental, ...(subprojects ? { subprojects } : {}) };
}

/**
 * The source-qemu component, linked against the source-xen component its plan names (built
 * before it); `apt` lists trixie, where meson comes from.
 */
export function sourceQemuComponent(apt: PrivateApt, plan: SourceQemuPlan): ComponentRecipe {
  // Asked by reuse and again by make: one nm over the Xen libraries is enough.
  let xenBuild: ReturnType<typeof xenBuildOf> | undefined;
  const xenBuildFor = (cacheDir: string, toolchain: MakeContext['toolchain']) => (xenBuild ??= xenBuildOf(cacheDir, plan, toolchain));
  return {
    plan,
    label: SOURCE_TREES_UNDER_TEST[1],
    underTest: true,
    reuseTree: plan.incremental,
    patches: plan.patches,
    fetch: ({ build, log }) => fetchOrigin(build, 'qemu', plan.origin, log),
    localSources: () => localSourcesOf(plan.origin),
    // Before its tree is copied or fetched: every step of a Xen bisection has a new Xen
    // build, and mostly the same interface.
    reuse: async ({ cacheDir, out, toolchain, log }) => {
      const { stage, interfaceKey } = await xenBuildFor(cacheDir, toolchain);
      return reuseSameInterface(cacheDir, interfaceKey, stage, out, log);
    },
    make: async (ctx) => makeSourceQemu(ctx, apt, plan, await xenBuildFor(ctx.cacheDir, ctx.toolchain)),
  };
}

/** The staged Xen build this QEMU links against, and the key of its inputs with that build reduced to its interface. */
async function xenBuildOf(cacheDir: string, plan: SourceQemuPlan, toolchain: MakeContext['toolchain']): Promise<{ stage: string; interfaceKey: string }> {
  const xen = await findComponent(cacheDir, SOURCE_XEN_COMPONENT, plan.inputs.xen);
  if (!xen) throw new InfraError(`source-qemu: the source-xen component ${plan.inputs.xen.slice(0, 12)} it links against is not in the cache`);
  const stage = join(xen.dir, xen.record.files.stage!);
  return { stage, interfaceKey: recipeKey({ ...plan.inputs, xen: undefined, xenInterface: await xenInterfaceHash(stage, join(toolchain.bin, `${CROSS_PREFIX}nm`)) }) };
}

async function makeSourceQemu(
  { cacheDir, build, tree, out, toolchain, host, log, reused }: MakeContext,
  apt: PrivateApt,
  plan: SourceQemuPlan,
  { stage, interfaceKey }: Awaited<ReturnType<typeof xenBuildOf>>,
): Promise<Made> {
  const meson = await mesonTool(cacheDir, apt, plan.meson);
  // In a reused tree, the build folder and the pkg-config copies stay where the last build had them.
  const keep = reused?.scratch ?? build.work;
  const buildDir = join(keep, 'build');
  const pkgconfig = await stagedPkgConfig(stage, join(keep, 'pkgconfig'));
  const ctx: SubprojectsContext = {
    cacheDir,
    build,
    env: mesonEnv(meson, toolchain),
    ...(plan.subprojects?.path !== undefined ? { supplied: plan.subprojects.path } : {}),
    ...(plan.subprojects ? { suppliedLabel: plan.subprojects.label } : {}),
    log,
  };
  const placed = reused ? await earlierSubprojects(tree, reused) : {};
  const subprojects = await ensureSubprojects(tree, ctx);
  // What an earlier build put in the reused tree is in it now, but it came from elsewhere.
  for (const [name, p] of Object.entries(placed)) if (subprojects.from[name] === 'the tree') subprojects.from[name] = p.from;

  const configure = [...plan.inputs.configure, ...(plan.inputs.userConfigure ?? []), `--extra-ldflags=-Wl,-rpath-link,${join(stage, STAGE_LIBDIR)}`];
  // Searched before the sysroot's .pc files, so libxen* resolve to the tree's own build.
  const env = { PKG_CONFIG_PATH: pkgconfig };
  const configuredWith = JSON.stringify({ configure, env, meson, toolchain: toolchain.env });
  const configured =
    reused !== undefined && !reused.fresh && reused.previous.configure === configuredWith && !touchesQemuConfigure(reused.changed) && (await exists(join(buildDir, 'build.ninja')));
  if (configured) log('qemu: configure: skipped (the reused build folder was configured with the same arguments, and no configure input changed; ninja re-runs meson for a changed meson.build)');
  const features = await withSubprojectsNamed(build, tree, buildDir, subprojects, ctx, () =>
    compileQemu(build, tree, out, { meson, configure, toolchain, env, buildDir, configured }),
  );
  if (reused) {
    reused.notes.configure = configuredWith;
    const outside = Object.fromEntries(
      subprojects.wraps.filter((w) => subprojects.from[w.name] !== undefined && subprojects.from[w.name] !== 'the tree').map((w) => [w.name, { from: subprojects.from[w.name]!, directory: w.directory }]),
    );
    reused.notes.subprojects = JSON.stringify(outside);
  }
  await checkXenLibraries(join(out, QEMU_TARGET), join(stage, STAGE_LIBDIR));
  await writeFile(join(out, 'version'), `${await qemuVersion(tree)}\n`);
  await writeFile(join(out, INTERFACE_FILE), `${interfaceKey}\n`);
  return { files: { binary: QEMU_TARGET, version: 'version', interface: INTERFACE_FILE }, features, built: sourceQemuBuiltText(plan, host, subprojects) };
}

/**
 * The subprojects an earlier build put into the reused tree (from qemu-subprojects, the cache
 * or a download), by name. When a wrap or anything else under subprojects/ changed, they are
 * removed instead: a new pin must not find the old tree.
 */
async function earlierSubprojects(tree: string, reused: ReusedTree): Promise<Record<string, { from: string; directory: string }>> {
  let placed: Record<string, { from: string; directory: string }> = {};
  try {
    placed = JSON.parse(reused.previous.subprojects ?? '{}') as typeof placed;
  } catch {
    placed = {};
  }
  const valid = Object.entries(placed).filter(([, p]) => typeof p?.directory === 'string' && /^[A-Za-z0-9._+-]+$/.test(p.directory) && !p.directory.startsWith('.'));
  if (![...reused.changed].some((p) => p.startsWith('subprojects/'))) return Object.fromEntries(valid);
  for (const [, p] of valid) await rm(join(tree, 'subprojects', p.directory), { recursive: true, force: true });
  return {};
}

/** Whether a changed source reaches what QEMU's configure reads (the script, its options, the Python it sets up). */
export function touchesQemuConfigure(changed: ReadonlySet<string>): boolean {
  for (const p of changed) if (QEMU_CONFIGURE_INPUT.test(p)) return true;
  return false;
}
const QEMU_CONFIGURE_INPUT = /^(configure|meson_options\.txt|meson\.options|pythondeps\.toml|scripts\/meson-buildoptions\.sh|configs\/meson\/.*|python\/.*|subprojects\/.*)$/;

async function exists(path: string): Promise<boolean> {
  return stat(path).then(() => true, () => false);
}

/** Beside a source-qemu component's binary: the key of its inputs with the Xen build it linked against reduced to its interface. */
const INTERFACE_FILE = 'xen-interface-key';

/**
 * A QEMU built from the same inputs against a Xen build with the same interface
 * (xen-interface.ts) is this one: its files are copied into out instead of building again.
 */
async function reuseSameInterface(cacheDir: string, interfaceKey: string, stage: string, out: string, log: (line: string) => void): Promise<Made | undefined> {
  const root = join(cacheDir, 'components', SOURCE_QEMU_COMPONENT);
  for (const key of (await readdir(root).catch(() => [] as string[])).sort()) {
    if (!/^[0-9a-f]{64}$/.test(key)) continue;
    // Only the match is looked up as a component (which marks it used for the cache's pruning).
    if ((await readFile(join(root, key, INTERFACE_FILE), 'utf8').catch(() => '')).trim() !== interfaceKey) continue;
    const other = await findComponent(cacheDir, SOURCE_QEMU_COMPONENT, key);
    if (!other) continue;
    for (const name of Object.values(other.record.files)) await copyFile(join(other.dir, name), join(out, name));
    await checkXenLibraries(join(out, QEMU_TARGET), join(stage, STAGE_LIBDIR));
    log(`qemu: reusing the build of component ${key.slice(0, 12)}: same QEMU, and a Xen build with the same headers, pkg-config files and library symbols`);
    return {
      files: other.record.files,
      features: other.record.features,
      built: `${other.record.built}; reused from component ${key.slice(0, 12)}, built against another Xen build with the same headers, pkg-config files and library symbols`,
    };
  }
  return undefined;
}

/**
 * Runs the build; when configure fails for subprojects the tree lacks, downloads those
 * (a few rounds at most: meson stops at the first missing one) and builds again. One that
 * cannot be had is that subproject's error (what, where it was looked for, how to provide
 * it), not a compiler's.
 */
async function withSubprojectsNamed<T>(build: ComponentBuild, tree: string, buildDir: string, report: SubprojectsReport, ctx: SubprojectsContext, what: () => Promise<T>): Promise<T> {
  const tried = new Set<string>();
  for (let round = 0; ; round++) {
    try {
      return await what();
    } catch (e) {
      if (Object.keys(report.unavailable).length === 0 || round >= 5) throw e;
      const log = await readFile(join(build.logs, 'configure.log'), 'utf8').catch(() => '');
      const { wraps } = report;
      const needed = neededOf(log, wraps, report);
      if (needed.length === 0) throw e;
      const fresh = needed.filter((n) => !tried.has(n));
      if (fresh.length < needed.length) throw missingError(wraps, needed, report, ctx.suppliedLabel);
      for (const n of fresh) tried.add(n);
      ctx.log(`qemu: configure needs ${fresh.join(', ')}, which the tree lacks: downloading`);
      if ((await fetchSubprojects(tree, wraps, fresh, report, ctx)).length < fresh.length) throw missingError(wraps, fresh.filter((n) => report.unavailable[n] !== undefined), report, ctx.suppliedLabel);
      // configure starts from an empty build folder.
      await rm(buildDir, { recursive: true, force: true });
    }
  }
}

/** QEMU's version as its tree says (the VERSION file), for the manifest and reports only. */
export async function qemuVersion(tree: string): Promise<string> {
  const text = await readFile(join(tree, 'VERSION'), 'utf8').catch(() => '');
  const v = text.split('\n')[0]!.trim();
  return /^[0-9][0-9A-Za-z.+~-]{0,40}$/.test(v) ? v : 'unknown';
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

export function sourceQemuBuiltText(plan: SourceQemuPlan, host: Record<string, string>, subprojects?: SubprojectsReport): string {
  const patches = plan.patches.map((p) => `${describePatch(p).file} (sha256 ${p.sha256.slice(0, 16)})`).join(', ') || 'none';
  const added = Object.entries(subprojects?.from ?? {}).filter(([, from]) => from !== 'the tree');
  return (
    `${QEMU_TARGET} built by xen-pvh-virtio (${SOURCE_QEMU_BUILD_VERSION}) from ${originText(plan.origin)} ` +
    `plus the user's patches: ${patches}; configure ${plan.inputs.configure.filter((f) => !f.startsWith('--disable-') || f === '--disable-tcg').join(' ')} ` +
    `(and unused features disabled); meson ${plan.meson.version}; linked against the Xen libraries built from the Xen ref (component ${plan.inputs.xen.slice(0, 12)}) ` +
    `built with the pinned ${Object.entries(host).map(([k, v]) => `${k} ${v}`).join(', ')} (bookworm arm64 sysroot); stripped` +
    (plan.inputs.userConfigure ? `; the user's configure arguments: ${buildArgsText(plan.inputs.userConfigure)}` : '') +
    (added.length > 0 ? `; meson subprojects the tree lacked: ${added.map(([n, from]) => `${n} from ${from}`).join(', ')}` : '')
  );
}
