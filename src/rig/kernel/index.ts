// Linux built from source: Debian's own kernel source (trixie's 6.12) by default, or the
// user's tree (linux-repo/linux-ref, linux-path), configured from allnoconfig plus our short
// list (recipe.ts) and cross-built with the pinned toolchain. One cached component (`linux`):
// the Image, its .config (capabilities are read off it) and its release. The build is out of
// tree (O=), so a cached pristine Debian tree is used as it is and never written.
import { availableParallelism } from 'node:os';
import { copyFile, mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { RigRequest } from '../../config/types.js';
import { InfraError } from '../../errors.js';
import { run } from '../../host/exec.js';
import { recipeKey } from '../cache.js';
import type { PrivateApt } from '../debian/apt.js';
import { ComponentBuild, findComponent, type Component } from '../debian/components.js';
import { debianSourceTree, sourceTreeDir } from '../debian/sources.js';
import { toolchainRecord } from '../debian/xen-build.js';
import { resolveRef } from '../source/git.js';
import { materialize, materializeText, originKey, originText, type TreeOrigin } from '../source/origin.js';
import { identifyTree } from '../source/tree.js';
import { CROSS_PREFIX, ensureToolchain, type Toolchain, type ToolchainPlan } from '../toolchain/index.js';
import { KERNEL_BUILD_VERSION, KERNEL_COMPONENT, KERNEL_CONFIG, LINUX_SOURCE, LINUX_SUITE } from './recipe.js';

export { KERNEL_COMPONENT, KERNEL_CONFIG, LINUX_SOURCE, LINUX_SUITE, LOCALVERSION } from './recipe.js';

/** Where the kernel's source comes from: a Debian source package, a git ref or a local tree. */
export type KernelSource = { kind: 'debian'; apt: PrivateApt; version: string; /** Newer versions the lists name but the mirror does not serve. */ skipped: string[] } | TreeOrigin;

export interface KernelPlan {
  key: string;
  inputs: ReturnType<typeof kernelInputs>;
  source: KernelSource;
}

function kernelInputs(source: KernelSource, toolchain: string) {
  return {
    component: KERNEL_COMPONENT,
    buildVersion: KERNEL_BUILD_VERSION,
    source: source.kind === 'debian' ? { debian: `${LINUX_SOURCE}=${source.version}` } : originKey(source),
    config: ['allnoconfig', ...KERNEL_CONFIG],
    make: ['ARCH=arm64', 'Image'],
    toolchain,
  };
}

export function planKernel(source: KernelSource, toolchainKey: string): KernelPlan {
  const inputs = kernelInputs(source, toolchainKey);
  return { key: recipeKey(inputs), inputs, source };
}

/** What `plan` shows of the kernel build (and what part of the rig key it is). */
export function kernelRecipe(request: Pick<RigRequest, 'linuxRepo' | 'linuxRef' | 'linuxPath'>) {
  const source =
    request.linuxPath !== undefined
      ? { path: request.linuxPath }
      : request.linuxRepo !== undefined
        ? { repo: request.linuxRepo, ref: request.linuxRef ?? 'master' }
        : { debian: `${LINUX_SOURCE} (${LINUX_SUITE})` };
  return { component: KERNEL_COMPONENT, buildVersion: KERNEL_BUILD_VERSION, source, config: ['allnoconfig', ...KERNEL_CONFIG] };
}

/**
 * The kernel a request asks to build, planned (a bad ref or path fails here); undefined for
 * Debian's kernel package. `debian` is a private apt with the trixie source lists.
 */
export async function planRequestedKernel(cacheDir: string, request: RigRequest, debian: PrivateApt, toolchainKey: string): Promise<KernelPlan | undefined> {
  if (request.kernel !== 'source') return undefined;
  let source: KernelSource;
  if (request.linuxPath !== undefined) {
    source = { kind: 'path', tree: await identifyTree(request.linuxPath, request.labels?.linuxPath ?? request.linuxPath) };
  } else if (request.linuxRepo !== undefined) {
    source = { kind: 'git', ref: await resolveRef({ repoInput: 'linux-repo', refInput: 'linux-ref', repo: request.linuxRepo, ref: request.linuxRef ?? 'master' }) };
  } else {
    const cached = (version: string) => stat(sourceTreeDir(cacheDir, LINUX_SOURCE, version)).then((st) => st.isDirectory(), () => false);
    source = { kind: 'debian', apt: debian, ...(await debian.servedSourceVersion(LINUX_SOURCE, cached)) };
  }
  return planKernel(source, toolchainKey);
}

/** One phrase for logs and the manifest. */
export function kernelSourceText(source: KernelSource): string {
  if (source.kind !== 'debian') return originText(source);
  const skipped = source.skipped.length ? `; the newer ${source.skipped.join(', ')} listed but not served by the mirror` : '';
  return `Debian source ${LINUX_SOURCE}=${source.version} (${source.apt.source.suite}${skipped})`;
}

export function findKernel(cacheDir: string, plan: KernelPlan): Promise<Component | undefined> {
  return findComponent(cacheDir, KERNEL_COMPONENT, plan.key);
}

/** The kernel component a provider's plan asks for, to spread into its components: {} for Debian's package. */
export async function ensurePlannedKernel(cacheDir: string, linux: KernelPlan | undefined, toolchain: ToolchainPlan, log: (line: string) => void): Promise<{ linux?: Component }> {
  if (!linux) return {};
  return { linux: await ensureKernel(cacheDir, linux, await ensureToolchain(cacheDir, toolchain, log), log) };
}

/** The cached kernel, or one built now (about 4 minutes on 2 cores from Debian's source). */
export async function ensureKernel(cacheDir: string, plan: KernelPlan, toolchain: Toolchain, log: (line: string) => void): Promise<Component> {
  const cached = await findKernel(cacheDir, plan);
  if (cached) {
    log(`linux component cache hit: ${cached.dir}`);
    return cached;
  }
  log(`building the linux component ${plan.key.slice(0, 12)} from ${kernelSourceText(plan.source)}`);
  const build = await ComponentBuild.start(cacheDir, KERNEL_COMPONENT, plan.key, log);
  try {
    return await buildKernel(cacheDir, build, plan, toolchain, log);
  } catch (cause) {
    // The logs stay for the error message to name; the object files (hundreds of MiB) go.
    await rm(join(build.work, 'obj'), { recursive: true, force: true });
    await rm(join(build.work, 'src'), { recursive: true, force: true });
    throw cause;
  }
}

async function buildKernel(cacheDir: string, build: ComponentBuild, plan: KernelPlan, toolchain: Toolchain, log: (line: string) => void): Promise<Component> {
  const source = plan.source;
  let src: string;
  if (source.kind === 'debian') {
    src = await debianSourceTree(cacheDir, source.apt, LINUX_SOURCE, source.version, log);
  } else {
    src = join(build.work, 'src');
    log(materializeText('linux', source));
    await build.phase('fetch', () => materialize(source, src, (text) => writeFile(join(build.logs, 'fetch.log'), text)));
  }
  const obj = join(build.work, 'obj');
  const out = join(build.work, 'out');
  await mkdir(obj, { recursive: true });
  await mkdir(out, { recursive: true });
  const fragment = join(build.work, 'xen-pvh-virtio.config');
  await writeFile(fragment, `${KERNEL_CONFIG.join('\n')}\n`);
  const make = ['-C', src, `O=${obj}`, 'ARCH=arm64', `CROSS_COMPILE=${join(toolchain.bin, CROSS_PREFIX)}`];
  const env = toolchain.env;

  await build.step('make allnoconfig + our config', 'config.log', 'make', [...make, `KCONFIG_ALLCONFIG=${fragment}`, 'allnoconfig'], { env });
  const config = await readFile(join(obj, '.config'), 'utf8');
  const lines = new Set(config.split('\n'));
  const dropped = KERNEL_CONFIG.filter((l) => !lines.has(l));
  if (dropped.length > 0) {
    throw new InfraError(`linux: the tree's Kconfig dropped ${dropped.join(', ')} (a dependency is missing or the option is gone); see ${join(obj, '.config')}`);
  }
  const jobs = availableParallelism();
  await build.step(`make -j${jobs} Image (about 4 min on 2 idle cores)`, 'build.log', 'make', [...make, `-j${jobs}`, 'Image'], { env });
  const release = (await run('make', [...make, '-s', 'kernelrelease'], { env })).stdout.trim();
  await copyFile(join(obj, 'arch/arm64/boot/Image'), join(out, 'Image'));
  await copyFile(join(obj, '.config'), join(out, 'config'));
  await writeFile(join(out, 'release'), `${release}\n`);
  await rm(obj, { recursive: true, force: true });
  await rm(join(build.work, 'src'), { recursive: true, force: true });

  const host = toolchainRecord(toolchain);
  return build.finish(cacheDir, out, {
    inputs: plan.inputs,
    files: { image: 'Image', config: 'config', release: 'release' },
    features: { xenVirtio: lines.has('CONFIG_XEN_VIRTIO=y') },
    built:
      `Linux ${release} built by xen-pvh-virtio (${KERNEL_BUILD_VERSION}) from ${kernelSourceText(source)}: make allnoconfig with ` +
      `${KERNEL_CONFIG.length} options (all built in, no modules), make ARCH=arm64 Image with the pinned ` +
      `${Object.entries(host).map(([k, v]) => `${k} ${v}`).join(', ')}`,
    host,
  });
}
