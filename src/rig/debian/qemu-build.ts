// The backend QEMU for dom0: trixie's qemu source (10.0.x: the xenpvh machine with PCI),
// cross-built for arm64 with the pinned toolchain against its bookworm arm64 sysroot, so it
// links against the same library ABIs as dom0's bookworm userland and Xen 4.17 tools.
// Only the qemu-system-aarch64 target is built. Cached as the `qemu` component.
import { availableParallelism } from 'node:os';
import { mkdir, rm, stat, writeFile } from 'node:fs/promises';
import { delimiter, join } from 'node:path';
import { run } from '../../host/exec.js';
import { markUsed } from '../../cache/index.js';
import { recipeKey } from '../cache.js';
import { CROSS_PREFIX, type Toolchain } from '../toolchain/index.js';
import type { PackageVersion, PrivateApt } from './apt.js';
import { ComponentBuild, findComponent, type Component } from './components.js';
import { applyPatchesLogged, describePatch, patchSeries, type PatchFile } from './patches.js';
import {
  MESON_PACKAGE,
  QEMU_BUILD_VERSION,
  QEMU_CONFIGURE_FLAGS,
  QEMU_DEVICES,
  QEMU_DEVICES_NAME,
  QEMU_SOURCE,
  QEMU_SUITE,
  QEMU_TARGET,
} from './recipe.js';
import { debianSourceTree } from './sources.js';
import { toolchainRecord } from './xen-build.js';

export const QEMU_COMPONENT = 'qemu';

/** Debian's python, not whatever python3 comes first on PATH (a pyenv shim on some hosts). */
const HOST_PYTHON = '/usr/bin/python3';

export interface QemuPlan {
  key: string;
  inputs: ReturnType<typeof qemuInputs>;
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
  const inputs = qemuInputs(sourceVersion, meson, patches, toolchainKey);
  return { key: recipeKey(inputs), inputs, sourceVersion, meson, patches };
}

export function findQemu(cacheDir: string, plan: QemuPlan): Promise<Component | undefined> {
  return findComponent(cacheDir, QEMU_COMPONENT, plan.key);
}

export interface PreparedQemu {
  plan: QemuPlan;
  build: ComponentBuild;
  tree: string;
  apt: PrivateApt;
}

export async function prepareQemu(cacheDir: string, apt: PrivateApt, plan: QemuPlan, log: (line: string) => void): Promise<PreparedQemu> {
  const pristine = await debianSourceTree(cacheDir, apt, QEMU_SOURCE, plan.sourceVersion, log);
  const build = await ComponentBuild.start(cacheDir, QEMU_COMPONENT, plan.key, log);
  const tree = join(build.work, 'src');
  try {
    await build.phase('copy source', () => run('cp', ['-a', pristine, tree]));
    await applyPatchesLogged(build.logs, tree, plan.patches, 'qemu', log);
  } catch (cause) {
    // Nothing was built: the copied tree is only in the way of the next attempt.
    await rm(build.work, { recursive: true, force: true });
    throw cause;
  }
  return { plan, build, tree, apt };
}

/** trixie's meson (arch all, pure Python) unpacked once under <cache>/tools: bookworm's is too old. */
export async function mesonTool(cacheDir: string, apt: PrivateApt, meson: PackageVersion): Promise<string> {
  const dir = join(cacheDir, 'tools', `${meson.name}_${meson.version.replace(/:/g, '%3a')}`);
  markUsed(cacheDir, dir);
  if (await stat(join(dir, 'usr', 'bin', 'meson')).then(() => true, () => false)) return dir;
  const deb = await apt.downloadOne(meson);
  const tmp = `${dir}.tmp-${process.pid}`;
  await mkdir(join(cacheDir, 'tools'), { recursive: true });
  await run('dpkg-deb', ['-x', deb, tmp]);
  await run('mv', ['-T', tmp, dir]);
  return dir;
}

export async function buildQemu(cacheDir: string, prepared: PreparedQemu, toolchain: Toolchain): Promise<Component> {
  const { plan, build, tree, apt } = prepared;
  const meson = await mesonTool(cacheDir, apt, plan.meson);
  const out = join(build.work, 'out');
  await mkdir(out);
  const features = await compileQemu(build, tree, out, { meson, configure: plan.inputs.configure, toolchain });
  const host = toolchainRecord(toolchain);
  return build.finish(cacheDir, out, {
    inputs: plan.inputs,
    files: { binary: QEMU_TARGET },
    features,
    built: qemuBuiltText(plan, host),
    host,
  });
}

/**
 * Configures and builds qemu-system-aarch64 in tree with our device config, strips it into
 * out, and reads the xenpvh PCI feature off the source. Shared by every provider that builds
 * QEMU; env adds to the build's environment (e.g. PKG_CONFIG_PATH for Xen libraries of our own).
 */
export async function compileQemu(
  build: ComponentBuild,
  tree: string,
  out: string,
  opts: { meson: string; configure: readonly string[]; toolchain: Toolchain; env?: Record<string, string> },
): Promise<Record<string, boolean>> {
  await writeFile(join(tree, 'configs', 'devices', 'aarch64-softmmu', `${QEMU_DEVICES_NAME}.mak`), QEMU_DEVICES);
  // configure and ninja's own meson re-runs both need trixie's meson first on the paths.
  const env = {
    ...opts.env,
    PATH: [join(opts.meson, 'usr', 'bin'), opts.toolchain.env.PATH].join(delimiter),
    PYTHONPATH: [join(opts.meson, 'usr', 'lib', 'python3', 'dist-packages'), process.env.PYTHONPATH].filter(Boolean).join(delimiter),
  };
  const dir = join(build.work, 'build');
  await mkdir(dir);
  await build.step('configure (about 15 s on 2 idle cores)', 'configure.log', join(tree, 'configure'), [`--python=${HOST_PYTHON}`, ...opts.configure], { cwd: dir, env });
  const jobs = availableParallelism();
  await build.step(`ninja -j${jobs} ${QEMU_TARGET} (about 2 min on 2 idle cores)`, 'build.log', 'ninja', [`-j${jobs}`, QEMU_TARGET], { cwd: dir, env });
  await build.step('strip', 'strip.log', `${CROSS_PREFIX}strip`, ['-o', join(out, QEMU_TARGET), join(dir, QEMU_TARGET)], { env: opts.toolchain.env });

  // The xenpvh machine's PCI INTx property, where this QEMU defines it (hw/xen, hw/arm).
  const pvh = await run('grep', ['-rlF', '"pci-intx-irq-base"', 'hw'], { cwd: tree, allowFailure: true });
  return { xenpvhPci: pvh.exitCode === 0 && pvh.stdout.trim() !== '' };
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
