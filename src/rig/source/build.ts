// The source rig: resolve the Xen and QEMU refs to commit ids and the Debian userland to
// exact versions (cheap), and on a cache miss fetch, patch and build the sources, then
// assemble the bundle from Debian's userland (debian/assemble.ts) and our Xen tools.
// source/index.ts is the provider that runs these steps.
import { readFile } from 'node:fs/promises';
import type { RigRequest } from '../../config/types.js';
import { recipeKey } from '../cache.js';
import { componentFile, type Component } from '../build/component.js';
import { resolveRef } from '../build/git.js';
import { originKey, originOfFile, originShortName, originText, originVersions, releaseText, type TreeOrigin } from '../build/origin.js';
import { describePatch } from '../build/patches.js';
import { ensureComponents, type BuildHooks } from '../build/recipe.js';
import { identifyTree } from '../build/tree.js';
import { planToolchain, type ToolchainPlan } from '../toolchain/index.js';
import { MANIFEST_SCHEMA_VERSION, type RigManifest } from '../manifest.js';
import { PrivateApt, hostMirror, refreshLists, type AptSource, type PackageVersion } from '../debian/apt.js';
import { assembleRig, commonNotes, configNotes, kernelPart, linuxVersions } from '../debian/assemble.js';
import { KERNEL_COMPONENT, kernelRecipe, linuxComponent, planRequestedKernel, type KernelPlan } from '../kernel/index.js';
import { ARCH, BACKEND_QEMU_PATH, COMPONENTS, MESON_PACKAGE, QEMU_SUITE, SUITE, dom0Texts, domUTexts, withKernel } from '../debian/recipe.js';
import { planSourceQemu, sourceQemuComponent, type SourceQemuPlan } from './qemu.js';
import {
  DEFAULT_QEMU_REPO,
  DEFAULT_QEMU_REF,
  DEFAULT_XEN_REF,
  DEFAULT_XEN_REPO,
  DOM0_TOOLS,
  SOURCE_PACKAGES,
  SOURCE_QEMU_COMPONENT,
  SOURCE_RECIPE_VERSION,
  SOURCE_XEN_COMPONENT,
} from './recipe.js';
import { findTool, planSourceXen, sourceXenComponent, type SourceXenPlan } from './xen.js';

/** The repositories and refs a request names, with the upstream defaults filled in. */
export function sourceInputs(request: RigRequest) {
  return {
    xen: { repoInput: 'xen-repo', refInput: 'xen-ref', repo: request.xenRepo ?? DEFAULT_XEN_REPO, ref: request.xenRef ?? DEFAULT_XEN_REF },
    qemu: { repoInput: 'qemu-repo', refInput: 'qemu-ref', repo: request.qemuRepo ?? DEFAULT_QEMU_REPO, ref: request.qemuRef ?? DEFAULT_QEMU_REF },
  };
}

/** A component's source as the recipe shows it: a local tree's path, or the repository and ref. */
function treeRecipe(path: string | undefined, git: { repo: string; ref: string }, patches: readonly string[] | undefined) {
  return path !== undefined ? { path, patches: [...(patches ?? [])] } : { repo: git.repo, ref: git.ref, patches: [...(patches ?? [])] };
}

/** The recipe as printable data (`xen-pvh-virtio plan`): refs as given, not resolved; no network. */
export function sourceRecipe(request: RigRequest, mirror = hostMirror()) {
  const inputs = sourceInputs(request);
  return {
    provider: 'source' as const,
    recipeVersion: SOURCE_RECIPE_VERSION,
    source: { mirror, suite: SUITE, components: COMPONENTS, arch: ARCH, sources: false } satisfies AptSource,
    packages: withKernel(SOURCE_PACKAGES, request.kernel),
    texts: request.kernel === 'source' ? { dom0: dom0Texts([]), domU: domUTexts([]) } : { dom0: dom0Texts(), domU: domUTexts() },
    ...(request.kernel === 'source' ? { kernel: kernelRecipe(request) } : {}),
    xen: treeRecipe(request.xenPath, inputs.xen, request.xenPatches),
    qemu: treeRecipe(request.qemuPath, inputs.qemu, request.qemuPatches),
  };
}

/** Where a component's tree comes from: the local tree when a path was given, else the ref, resolved. */
async function resolveOrigin(path: string | undefined, label: string | undefined, git: Parameters<typeof resolveRef>[0]): Promise<TreeOrigin> {
  if (path !== undefined) return { kind: 'path', tree: await identifyTree(path, label ?? path) };
  return { kind: 'git', ref: await resolveRef(git) };
}

export interface SourcePlan {
  recipe: ReturnType<typeof sourceRecipe>;
  apt: PrivateApt;
  qemuApt: PrivateApt;
  resolved: PackageVersion[];
  xen: SourceXenPlan;
  qemu: SourceQemuPlan;
  toolchain: ToolchainPlan;
  /** kernel: source only. */
  linux?: KernelPlan;
  key: string;
}

export interface SourceComponents {
  xen: Component;
  qemu: Component;
  linux?: Component;
}

/**
 * Resolves both refs to commit ids (a bad repository or ref fails here, before anything is
 * fetched or built) and the Debian packages to versions, and derives every key.
 */
export async function planSourceRig(cacheDir: string, request: RigRequest, log: (line: string) => void): Promise<SourcePlan> {
  const inputs = sourceInputs(request);
  const [xenOrigin, qemuOrigin] = await Promise.all([
    resolveOrigin(request.xenPath, request.labels?.xenPath, inputs.xen),
    resolveOrigin(request.qemuPath, request.labels?.qemuPath, inputs.qemu),
  ]);
  log(`xen: ${originText(xenOrigin)}; qemu: ${originText(qemuOrigin)}`);
  const recipe = sourceRecipe(request);
  const apt = new PrivateApt(cacheDir, recipe.source);
  await refreshLists(apt, log);
  const resolved = await apt.resolve(recipe.packages);
  // trixie's source lists too: Debian's own kernel source comes from there.
  const qemuApt = new PrivateApt(cacheDir, { ...recipe.source, suite: QEMU_SUITE, sources: true });
  await refreshLists(qemuApt, log);
  const meson = await qemuApt.candidate(MESON_PACKAGE);

  const toolchain = await planToolchain(cacheDir, apt, log);
  const xen = await planSourceXen(xenOrigin, toolchain.key, request.xenPatches, { configure: request.xenConfigureArgs, make: request.xenMakeArgs }, request.incrementalBuilds === true);
  const subprojects = { ...(request.qemuSubprojects ? { path: request.qemuSubprojects } : {}), label: request.labels?.qemuSubprojects ?? 'qemu-subprojects' };
  const qemu = await planSourceQemu(qemuOrigin, meson, xen.key, toolchain.key, request.qemuPatches, subprojects, request.qemuConfigureArgs, request.incrementalBuilds === true);
  const linux = await planRequestedKernel(cacheDir, request, qemuApt, toolchain.key);
  // The mirror stays out of the key. The components are keyed by the tree only (the same
  // commit from any URL or checkout); the bundle also by repository and ref (or path),
  // because its manifest and the JUnit properties name them: a new URL re-assembles the
  // bundle from the cached components.
  const key = recipeKey({
    ...recipe,
    source: { ...recipe.source, mirror: undefined },
    xen: { ...recipe.xen, ...originKey(xenOrigin) },
    qemu: { ...recipe.qemu, ...originKey(qemuOrigin) },
    resolved: resolved.map((p) => `${p.name}=${p.version}`),
    components: { [SOURCE_XEN_COMPONENT]: xen.key, [SOURCE_QEMU_COMPONENT]: qemu.key, ...(linux ? { [KERNEL_COMPONENT]: linux.key } : {}) },
  });
  return { recipe, apt, qemuApt, resolved, xen, qemu, toolchain, ...(linux ? { linux } : {}), key };
}

/** The built components, from their caches or made now: the kernel (when built from source), Xen, then QEMU. */
export function ensureSourceComponents(cacheDir: string, plan: SourcePlan, log: (line: string) => void, hooks: BuildHooks = {}): Promise<SourceComponents> {
  const recipes = {
    linux: plan.linux && linuxComponent(plan.linux),
    // Before QEMU, which links against its libraries.
    xen: sourceXenComponent(plan.xen),
    qemu: sourceQemuComponent(plan.qemuApt, plan.qemu),
  };
  return ensureComponents(cacheDir, recipes, plan.toolchain, log, hooks);
}

/** Builds the bundle into dir: Debian's userland and Linux, our Xen, tools and QEMU. */
export async function buildSourceRig(dir: string, plan: SourcePlan, components: SourceComponents, log: (line: string) => void): Promise<RigManifest> {
  const { xen, qemu } = components;
  const stage = componentFile(xen, 'stage');
  const xenVersion = (await readFile(componentFile(xen, 'version'), 'utf8')).trim();
  const toolsPkg: PackageVersion = { name: 'xen-tools (built from source)', version: `${xenVersion} (${originShortName(plan.xen.origin)})`, arch: 'arm64' };
  const xenOrigin = { ...originOfFile(plan.xen.origin), built: xen.record.built, patches: plan.xen.patches.map(describePatch) };
  const built = await assembleRig(
    dir,
    plan.apt,
    plan.resolved,
    {
      xen: { image: componentFile(xen, 'image'), config: componentFile(xen, 'config'), name: `xen-${xenVersion}-arm64`, origin: xenOrigin },
      qemu: {
        binary: componentFile(qemu, 'binary'),
        xenpvhPci: qemu.record.features.xenpvhPci === true,
        origin: { ...originOfFile(plan.qemu.origin), built: qemu.record.built, patches: plan.qemu.patches.map(describePatch) },
      },
      texts: plan.recipe.texts,
      ...(components.linux ? { kernel: kernelPart(components.linux) } : {}),
      extraTrees: [{ pkg: toolsPkg, dir: stage }],
      dom0Xen: async (dom0) => {
        for (const name of DOM0_TOOLS) {
          const path = await findTool(stage, name);
          await dom0.installElf(path);
          if (path !== `/usr/sbin/${name}` && path !== `/usr/bin/${name}`) await dom0.link(`/usr/sbin/${name}`, path);
        }
        // The xenstore client is one multi-call binary that reads its name.
        const client = await findTool(stage, 'xenstore');
        for (const c of ['read', 'write', 'ls', 'list', 'rm', 'exists', 'chmod', 'watch']) await dom0.link(`/usr/bin/xenstore-${c}`, client);
      },
    },
    log,
  );
  const { pkgs } = built;
  return {
    schemaVersion: MANIFEST_SCHEMA_VERSION,
    provider: 'source',
    key: plan.key,
    createdAt: new Date().toISOString(),
    versions: {
      xen: releaseText(xenVersion, plan.xen.origin),
      ...originVersions('xen', plan.xen.origin),
      'xen-tools': `${xenVersion} (same tree)`,
      // Components built before QEMU's version was recorded say "unknown".
      qemu: releaseText(qemu.record.files.version ? (await readFile(componentFile(qemu, 'version'), 'utf8')).trim() : 'unknown', plan.qemu.origin),
      ...originVersions('qemu', plan.qemu.origin),
      ...linuxVersions(built, pkgs, plan.linux?.source),
      'linux-release': built.release,
      uboot: pkgs.version('u-boot-qemu'),
      busybox: pkgs.version('busybox-static'),
      dropbear: pkgs.version('dropbear-bin'),
    },
    files: built.files,
    capabilities: built.capabilities,
    notes: [
      ...commonNotes(plan.recipe.source, built),
      `Xen ${xenVersion} (hypervisor and dom0 tools, one tree) built from ${originText(plan.xen.origin)}` +
        (plan.xen.patches.length > 0 ? ` with the user's patches ${plan.xen.patches.map((p) => describePatch(p).file).join(', ')}` : '') +
        '; capabilities are read off the built config and the dom0less properties the built hypervisor parses.',
      `dom0: ${BACKEND_QEMU_PATH} is QEMU built from ${originText(plan.qemu.origin)}` +
        (plan.qemu.patches.length > 0 ? ` with the user's patches ${plan.qemu.patches.map((p) => describePatch(p).file).join(', ')}` : '') +
        ', linked against the Xen libraries of that Xen build; xenpvh machine only, trace backend "log".',
      components.linux
        ? `Linux ${built.release} built from source (${components.linux.record.built}); u-boot and the userland are Debian ${SUITE}'s.`
        : `Linux, u-boot and the userland are Debian ${SUITE}'s (kernel: debian).`,
      ...configNotes(built),
    ],
  };
}
