// The debian rig: resolve the recipe's packages to exact versions (cheap, from the private
// lists), and on a cache miss build the components, download the packages and assemble the
// bundle. debian/index.ts is the provider that runs these steps.
import { join } from 'node:path';
import { InfraError } from '../../errors.js';
import type { RigRequest } from '../../config/types.js';
import { recipeKey } from '../cache.js';
import { componentFile, type Component } from '../build/component.js';
import { describePatch } from '../build/patches.js';
import { QEMU_CONFIGURE_FLAGS, QEMU_DEVICES, QEMU_TARGET } from '../build/qemu.js';
import { ensureComponents } from '../build/recipe.js';
import { XEN_CONFIG_DELTA, XEN_MAKE_VARS } from '../build/xen.js';
import { KERNEL_COMPONENT, kernelRecipe, linuxComponent, planRequestedKernel, type KernelPlan } from '../kernel/index.js';
import { MANIFEST_SCHEMA_VERSION, type RigManifest } from '../manifest.js';
import { SYSROOT_PACKAGES } from '../toolchain/recipe.js';
import { planToolchain, type ToolchainPlan } from '../toolchain/index.js';
import { PrivateApt, hostMirror, refreshLists, type AptSource, type PackageVersion } from './apt.js';
import { assembleRig, commonNotes, configNotes, kernelPart, linuxVersions } from './assemble.js';
import { QEMU_COMPONENT, planQemu, qemuBuiltText, qemuComponent, type QemuPlan } from './qemu-build.js';
import { INIT_DOM0LESS_TREE, XEN_COMPONENT, planXen, xenBuiltText, xenComponent, type XenPlan } from './xen-build.js';
import {
  ARCH,
  BACKEND_QEMU_PATH,
  COMPONENTS,
  DOM0_MODULES,
  DOM0_PROGRAMS,
  DOM0_XEN_PROGRAMS,
  DOMU_DATA,
  DOMU_MODULES,
  DOMU_PROGRAMS,
  PACKAGES,
  QEMU_BUILD_VERSION,
  QEMU_SOURCE,
  QEMU_SUITE,
  RECIPE_VERSION,
  SUITE,
  XEN_BINARY_PACKAGE,
  XEN_BUILD_VERSION,
  XEN_SERIES,
  XEN_SOURCE,
  XENSTORE_CLIENTS,
  dom0Texts,
  domUTexts,
  withKernel,
} from './recipe.js';

/** The recipe as printable data: what `xen-pvh-virtio plan` shows. Needs no network. */
export function debianRecipe(mirror = hostMirror(), request: Pick<RigRequest, 'kernel' | 'linuxRepo' | 'linuxRef' | 'linuxPath'> = {}) {
  const kernel = request.kernel ?? 'debian';
  const own = kernel === 'source';
  return {
    provider: 'debian' as const,
    recipeVersion: RECIPE_VERSION,
    source: { mirror, suite: SUITE, components: COMPONENTS, arch: ARCH, sources: true } satisfies AptSource,
    packages: withKernel(PACKAGES, kernel),
    modules: own ? { dom0: [], domU: [] } : { dom0: [...DOM0_MODULES], domU: [...DOMU_MODULES] },
    programs: { dom0: DOM0_PROGRAMS, domU: [...DOMU_PROGRAMS, ...DOMU_DATA] },
    texts: own ? { dom0: dom0Texts([]), domU: domUTexts([]) } : { dom0: dom0Texts(), domU: domUTexts() },
    ...(own ? { kernel: kernelRecipe(request) } : {}),
    // Built from Debian sources; each is also a cached component with its own key.
    build: {
      xen: { buildVersion: XEN_BUILD_VERSION, source: `${XEN_SOURCE} (the version of ${XEN_BINARY_PACKAGE})`, configDelta: [...XEN_CONFIG_DELTA], make: [...XEN_MAKE_VARS] },
      qemu: {
        buildVersion: QEMU_BUILD_VERSION,
        source: `${QEMU_SOURCE} (${QEMU_SUITE})`,
        target: QEMU_TARGET,
        devices: QEMU_DEVICES,
        configure: [...QEMU_CONFIGURE_FLAGS],
        sysroot: [...SYSROOT_PACKAGES],
        installedAs: BACKEND_QEMU_PATH,
      },
    },
  };
}
export type DebianRecipe = ReturnType<typeof debianRecipe>;

export interface DebianPlan {
  recipe: DebianRecipe;
  apt: PrivateApt;
  /** trixie's lists: the QEMU source and meson come from there. */
  qemuApt: PrivateApt;
  /** The full dependency closure with exact versions. */
  resolved: PackageVersion[];
  xen: XenPlan;
  qemu: QemuPlan;
  /** The pinned compilers and sysroot both components are built with. */
  toolchain: ToolchainPlan;
  /** kernel: source only. */
  linux?: KernelPlan;
  /** Changes whenever the recipe, a resolved version or a component key changes. */
  key: string;
}

/** The components the bundle is assembled from. */
export interface DebianComponents {
  xen: Component;
  qemu: Component;
  linux?: Component;
}

/**
 * Resolves exact versions from the private lists (refreshing them when stale), reads the
 * patch series, and derives the component keys and the rig key. Builds nothing.
 */
export async function planDebianRig(cacheDir: string, request: RigRequest, log: (line: string) => void): Promise<DebianPlan> {
  const recipe = debianRecipe(hostMirror(), request);
  const apt = new PrivateApt(cacheDir, recipe.source);
  await refreshLists(apt, log);
  const resolved = await apt.resolve(recipe.packages);
  const binary = resolved.find((p) => p.name === XEN_BINARY_PACKAGE);
  if (!binary) throw new InfraError(`${XEN_BINARY_PACKAGE} is not in the resolved package set`);
  const toolchain = await planToolchain(cacheDir, apt, log);
  const xen = await planXen(binary, toolchain.key, request.xenPatches);

  const qemuApt = new PrivateApt(cacheDir, { ...recipe.source, suite: QEMU_SUITE });
  await refreshLists(qemuApt, log);
  const qemu = await planQemu(qemuApt, toolchain.key, request.qemuPatches);
  const linux = await planRequestedKernel(cacheDir, request, qemuApt, toolchain.key);

  // The mirror stays out of the key: signed archives give the same bytes from any mirror.
  const keyed = { ...recipe, source: { ...recipe.source, mirror: undefined } };
  const key = recipeKey({
    ...keyed,
    resolved: resolved.map((p) => `${p.name}=${p.version}`),
    components: { [XEN_COMPONENT]: xen.key, [QEMU_COMPONENT]: qemu.key, ...(linux ? { [KERNEL_COMPONENT]: linux.key } : {}) },
  });
  return { recipe, apt, qemuApt, resolved, xen, qemu, toolchain, ...(linux ? { linux } : {}), key };
}

/** The built components, from their caches or made now: the kernel (when built from source), Xen, then QEMU. */
export function ensureDebianComponents(cacheDir: string, plan: DebianPlan, log: (line: string) => void): Promise<DebianComponents> {
  const recipes = {
    linux: plan.linux && linuxComponent(plan.linux),
    xen: xenComponent(plan.apt, plan.xen),
    qemu: qemuComponent(plan.qemuApt, plan.qemu),
  };
  return ensureComponents(cacheDir, recipes, plan.toolchain, log);
}

/** Builds the bundle into dir (which becomes the bundle) and writes nothing outside it. */
export async function buildDebianRig(dir: string, plan: DebianPlan, components: DebianComponents, log: (line: string) => void): Promise<RigManifest> {
  const { xen, qemu } = components;
  const built = await assembleRig(dir, plan.apt, plan.resolved, {
    xen: {
      image: componentFile(xen, 'image'),
      config: componentFile(xen, 'config'),
      name: `xen-${XEN_SERIES}-arm64`,
      origin: {
        package: `${XEN_SOURCE} (Debian source)`,
        version: plan.xen.binary.version,
        built: xenBuiltText(plan.xen, xen.record.host),
        patches: plan.xen.patches.map(describePatch),
      },
    },
    qemu: {
      binary: componentFile(qemu, 'binary'),
      xenpvhPci: qemu.record.features.xenpvhPci === true,
      origin: {
        package: `${QEMU_SOURCE} (Debian ${QEMU_SUITE} source)`,
        version: plan.qemu.sourceVersion,
        built: qemuBuiltText(plan.qemu, qemu.record.host),
        patches: plan.qemu.patches.map(describePatch),
      },
    },
    texts: plan.recipe.texts,
    ...(components.linux ? { kernel: kernelPart(components.linux) } : {}),
    // init-dom0less comes from our Xen build (its fix for multi-vCPU domUs); the rest of the tools from Debian.
    extraTrees: [{ pkg: { name: 'init-dom0less (built from the patched xen source)', version: plan.xen.binary.version, arch: 'arm64' }, dir: join(xen.dir, INIT_DOM0LESS_TREE) }],
    dom0Xen: async (dom0) => {
      // The base programs are already in; installing them again is a no-op.
      for (const program of DOM0_PROGRAMS) await dom0.installElf(program);
      for (const program of DOM0_XEN_PROGRAMS) {
        const name = program.slice(program.lastIndexOf('/') + 1);
        await dom0.link(`/usr/sbin/${name}`, `../lib/xen-${XEN_SERIES}/bin/${name}`);
      }
      for (const client of XENSTORE_CLIENTS) await dom0.link(`/usr/bin/${client}`, 'xenstore');
    },
  }, log);
  const { pkgs } = built;

  return {
    schemaVersion: MANIFEST_SCHEMA_VERSION,
    provider: 'debian',
    key: plan.key,
    createdAt: new Date().toISOString(),
    versions: {
      xen: plan.xen.binary.version,
      'xen-tools': pkgs.version(`xen-utils-${XEN_SERIES}`),
      ...linuxVersions(built, pkgs, plan.linux?.source),
      'linux-release': built.release,
      uboot: pkgs.version('u-boot-qemu'),
      busybox: pkgs.version('busybox-static'),
      dropbear: pkgs.version('dropbear-bin'),
      qemu: plan.qemu.sourceVersion,
    },
    files: built.files,
    capabilities: built.capabilities,
    notes: [
      ...commonNotes(plan.recipe.source, built),
      `Hypervisor rebuilt from Debian's ${XEN_SOURCE} ${plan.xen.binary.version} source with ${XEN_CONFIG_DELTA.join(' ')}` +
        (plan.xen.patches.length > 0 ? ` and patches ${plan.xen.patches.map((p) => describePatch(p).file).join(', ')}` : '') +
        `; dom0 keeps Debian's xen-utils-${XEN_SERIES} tools (same series), except init-dom0less, built from the same patched source (0002: it failed for any domU with two or more vCPUs).`,
      `The rebuilt ${plan.xen.binary.version} hypervisor predates Debian's later ${XEN_SERIES} security updates, whose source this mirror does not serve: fine for a test rig, not for production.`,
      `dom0: ${BACKEND_QEMU_PATH} is QEMU ${plan.qemu.sourceVersion} (Debian ${QEMU_SUITE} source) cross-built with --enable-xen --disable-tcg, xenpvh machine only, trace backend "log"; its libraries come from ${SUITE} arm64 packages.`,
      ...configNotes(built),
    ],
  };
}

