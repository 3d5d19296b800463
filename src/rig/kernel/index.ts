// Linux built from source: Debian's own kernel source (trixie's 6.12) by default, or the
// user's tree (linux-repo/linux-ref, linux-path), configured from allnoconfig plus our short
// list (recipe.ts) and cross-built with the pinned toolchain. One cached component (`linux`):
// the Image, its .config (capabilities are read off it) and its release. The build is out of
// tree (O=), so a cached pristine Debian tree is used as it is and never written.
import { availableParallelism } from 'node:os';
import { copyFile, mkdir, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { RigRequest } from '../../config/types.js';
import { InfraError } from '../../errors.js';
import { run } from '../../host/exec.js';
import { resolveRef } from '../build/git.js';
import { localSourcesOf, originKey, originText, type TreeOrigin } from '../build/origin.js';
import { fetchOrigin, planComponent, type ComponentPlan, type ComponentRecipe, type Made, type MakeContext } from '../build/recipe.js';
import { identifyTree } from '../build/tree.js';
import type { PrivateApt } from '../debian/apt.js';
import { debianSourceTree, sourceTreeDir } from '../debian/sources.js';
import { CROSS_PREFIX } from '../toolchain/index.js';
import { KERNEL_BUILD_VERSION, KERNEL_COMPONENT, KERNEL_CONFIG, LINUX_SOURCE, LINUX_SUITE } from './recipe.js';

export { KERNEL_COMPONENT, KERNEL_CONFIG, LINUX_SOURCE, LINUX_SUITE, LOCALVERSION } from './recipe.js';

/** Where the kernel's source comes from: a Debian source package, a git ref or a local tree. */
export type KernelSource = { kind: 'debian'; apt: PrivateApt; version: string; /** Newer versions the lists name but the mirror does not serve. */ skipped: string[] } | TreeOrigin;

export interface KernelPlan extends ComponentPlan<ReturnType<typeof kernelInputs>> {
  source: KernelSource;
  /** The user's tree built in the cache's persistent build tree (incremental-builds); not keyed. */
  incremental?: boolean;
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

export function planKernel(source: KernelSource, toolchainKey: string, incremental = false): KernelPlan {
  // Debian's tree is a pristine shared source, built out of tree anyway; only a tree of the user's moves.
  return { ...planComponent(kernelInputs(source, toolchainKey)), source, ...(incremental && source.kind !== 'debian' ? { incremental: true } : {}) };
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
  return planKernel(source, toolchainKey, request.incrementalBuilds === true);
}

/** One phrase for logs and the manifest. */
export function kernelSourceText(source: KernelSource): string {
  if (source.kind !== 'debian') return originText(source);
  const skipped = source.skipped.length ? `; the newer ${source.skipped.join(', ')} listed but not served by the mirror` : '';
  return `Debian source ${LINUX_SOURCE}=${source.version} (${source.apt.source.suite}${skipped})`;
}

/**
 * The linux component. Debian's source is built as it lies in the cache (out of tree, O=, so
 * nothing writes into it); a git ref or a local tree is fetched into the work folder.
 */
export function linuxComponent(plan: KernelPlan): ComponentRecipe {
  const source = plan.source;
  return {
    plan,
    label: 'linux',
    describe: `from ${kernelSourceText(source)}`,
    ...(plan.incremental ? { reuseTree: true } : {}),
    patches: [],
    fetch: ({ cacheDir, build, log }) =>
      source.kind === 'debian' ? debianSourceTree(cacheDir, source.apt, LINUX_SOURCE, source.version, log) : fetchOrigin(build, 'linux', source, log),
    localSources: () => (source.kind === 'debian' ? undefined : localSourcesOf(source)),
    async make(ctx) {
      try {
        return await makeKernel(ctx, plan);
      } catch (cause) {
        // The logs stay for the error message to name; the object files (hundreds of MiB) go,
        // unless they are the kept build tree's.
        await rm(join(ctx.build.work, 'obj'), { recursive: true, force: true });
        await rm(join(ctx.build.work, 'src'), { recursive: true, force: true });
        throw cause;
      }
    },
  };
}

async function makeKernel({ build, tree: src, out, toolchain, host, reused }: MakeContext, plan: KernelPlan): Promise<Made> {
  // In a reused build tree the objects stay beside it for the next build.
  const obj = join(reused?.scratch ?? build.work, 'obj');
  await mkdir(obj, { recursive: true });
  const fragment = join(build.work, 'xen-pvh-virtio.config');
  await writeFile(fragment, `${KERNEL_CONFIG.join('\n')}\n`);
  const make = ['-C', src, `O=${obj}`, 'ARCH=arm64', `CROSS_COMPILE=${join(toolchain.bin, CROSS_PREFIX)}`];
  const env = toolchain.env;

  const last = reused ? await stat(join(obj, '.config')).then(async (st) => ({ text: await readFile(join(obj, '.config'), 'utf8'), mtime: st.mtime }), () => undefined) : undefined;
  await build.step('make allnoconfig + our config', 'config.log', 'make', [...make, `KCONFIG_ALLCONFIG=${fragment}`, 'allnoconfig'], { env });
  const config = await readFile(join(obj, '.config'), 'utf8');
  // allnoconfig wrote .config anew: the same config with its old mtime leaves every object as it is.
  if (last && last.text === config) await utimes(join(obj, '.config'), last.mtime, last.mtime);
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
  if (!reused) {
    await rm(obj, { recursive: true, force: true });
    await rm(join(build.work, 'src'), { recursive: true, force: true });
  }

  return {
    files: { image: 'Image', config: 'config', release: 'release' },
    features: { xenVirtio: lines.has('CONFIG_XEN_VIRTIO=y') },
    built:
      `Linux ${release} built by xen-pvh-virtio (${KERNEL_BUILD_VERSION}) from ${kernelSourceText(plan.source)}: make allnoconfig with ` +
      `${KERNEL_CONFIG.length} options (all built in, no modules), make ARCH=arm64 Image with the pinned ` +
      `${Object.entries(host).map(([k, v]) => `${k} ${v}`).join(', ')}`,
  };
}
