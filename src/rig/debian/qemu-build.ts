// The backend QEMU for dom0: trixie's qemu source (10.0.x: the xenpvh machine with PCI),
// cross-built for arm64 with the pinned toolchain against its bookworm arm64 sysroot, so it
// links against the same library ABIs as dom0's bookworm userland and Xen 4.17 tools.
// Only the qemu-system-aarch64 target is built. Cached as the `qemu` component.
import { describePatch, type PatchFile } from '../build/patches.js';
import { QEMU_CONFIGURE_FLAGS, QEMU_DEVICES, QEMU_DEVICES_NAME, QEMU_TARGET, compileQemu } from '../build/qemu.js';
import { planComponent, type ComponentPlan, type ComponentRecipe } from '../build/recipe.js';
import { CROSS_PREFIX } from '../toolchain/index.js';
import type { PackageVersion, PrivateApt } from './apt.js';
import { mesonTool } from './meson.js';
import { patchSeries } from './patches.js';
import { MESON_PACKAGE, QEMU_BUILD_VERSION, QEMU_SOURCE, QEMU_SUITE } from './recipe.js';
import { debianSourceCopy } from './sources.js';

export const QEMU_COMPONENT = 'qemu';

export interface QemuPlan extends ComponentPlan<ReturnType<typeof qemuInputs>> {
  sourceVersion: string;
  meson: PackageVersion;
  patches: PatchFile[];
}

function qemuInputs(sourceVersion: string, meson: PackageVersion, patches: PatchFile[], toolchain: string) {
  return {
    component: QEMU_COMPONENT,
    buildVersion: QEMU_BUILD_VERSION,
    source: `${QEMU_SOURCE}=${sourceVersion}`,
    suite: QEMU_SUITE,
    meson: `${meson.name}=${meson.version}`,
    devices: QEMU_DEVICES,
    configure: [`--cross-prefix=${CROSS_PREFIX}`, ...QEMU_CONFIGURE_FLAGS],
    target: QEMU_TARGET,
    // Compilers and sysroot, by the key of their exact package versions.
    toolchain,
    patches: patches.map((p) => p.sha256),
  };
}

/** Versions come from the private trixie lists; refreshing them is the caller's business. */
export async function planQemu(apt: PrivateApt, toolchainKey: string, userPatches: readonly string[] = []): Promise<QemuPlan> {
  const sourceVersion = await apt.sourceVersion(QEMU_SOURCE);
  const meson = await apt.candidate(MESON_PACKAGE);
  const patches = await patchSeries('qemu', userPatches);
  return { ...planComponent(qemuInputs(sourceVersion, meson, patches, toolchainKey)), sourceVersion, meson, patches };
}

/** The qemu component, from trixie's source; `apt` lists trixie (the source and meson come from there). */
export function qemuComponent(apt: PrivateApt, plan: QemuPlan): ComponentRecipe {
  return {
    plan,
    label: 'qemu',
    patches: plan.patches,
    fetch: ({ cacheDir, build, log }) => debianSourceCopy(cacheDir, apt, QEMU_SOURCE, plan.sourceVersion, build, log),
    async make({ cacheDir, build, tree, out, toolchain, host }) {
      const meson = await mesonTool(cacheDir, apt, plan.meson);
      const features = await compileQemu(build, tree, out, { meson, configure: plan.inputs.configure, toolchain });
      return { files: { binary: QEMU_TARGET }, features, built: qemuBuiltText(plan, host) };
    },
  };
}

/** How the binary was made, for the manifest: derived from the plan, so it never drifts from the key. */
export function qemuBuiltText(plan: QemuPlan, host: Record<string, string>): string {
  const patches = plan.patches.map((p) => `${describePatch(p).file} (${p.from}, sha256 ${p.sha256.slice(0, 16)})`).join(', ') || 'none';
  const features = plan.inputs.configure.filter((f) => /^--disable-/.test(f) && !CORE_DISABLES.includes(f));
  const core = plan.inputs.configure.filter((f) => !features.includes(f));
  return (
    `${QEMU_TARGET} built by xen-pvh-virtio (${QEMU_BUILD_VERSION}) from Debian ${QEMU_SUITE} source ${QEMU_SOURCE}=${plan.sourceVersion} ` +
    `(Debian's quilt series applied) plus patches: ${patches}; devices ${QEMU_DEVICES_NAME}.mak (${QEMU_DEVICES.split('\n').filter((l) => l.startsWith('CONFIG_')).join(' ')}); ` +
    `configure ${core.join(' ')} and ${features.length} more --disable-<feature> options; ninja ${QEMU_TARGET}; meson ${plan.meson.version}; ` +
    `built with the pinned ${Object.entries(host).map(([k, v]) => `${k} ${v}`).join(', ')} (bookworm arm64 sysroot); stripped`
  );
}

/** The --disable-* options that shape the build, as opposed to the unused features switched off. */
const CORE_DISABLES = ['--disable-tcg', '--disable-install-blobs', '--disable-download'];
