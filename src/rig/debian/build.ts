// The debian provider: resolve the recipe's packages to exact versions (cheap, from the
// private lists), and on a cache miss download them, unpack them and assemble the bundle.
import { NeedsChange } from '../../host/dry-run.js';
import { copyFile, mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { InfraError } from '../../errors.js';
import type { KernelChoice, RigRequest } from '../../config/types.js';
import { sha256File } from '../bundle.js';
import { recipeKey } from '../cache.js';
import { SYSROOT_PACKAGES } from '../toolchain/recipe.js';
import { ensureToolchain, planToolchain, type ToolchainPlan } from '../toolchain/index.js';
import { MANIFEST_SCHEMA_VERSION, type Capability, type FileOrigin, type FileRole, type RigFile, type RigManifest } from '../manifest.js';
import { xenPropertyCapabilities } from '../xen-properties.js';
import { KERNEL_COMPONENT, ensurePlannedKernel, kernelRecipe, planRequestedKernel, type KernelPlan } from '../kernel/index.js';
import { PrivateApt, hostMirror, type AptSource, type PackageVersion } from './apt.js';
import type { Component } from './components.js';
import { installModules } from './modules.js';
import { describePatch } from './patches.js';
import { QEMU_COMPONENT, buildQemu, findQemu, planQemu, prepareQemu, qemuBuiltText, type PreparedQemu, type QemuPlan } from './qemu-build.js';
import { INIT_DOM0LESS_TREE, XEN_COMPONENT, buildXen, findXen, planXen, prepareXen, xenBuiltText, type PreparedXen, type XenPlan } from './xen-build.js';
import { PackageTrees } from './packages.js';
import { RamdiskTree } from './ramdisk.js';
import {
  ARCH,
  BACKEND_QEMU_PATH,
  COMPONENTS,
  DOM0_BASE_PROGRAMS,
  DOM0_MODULES,
  DOM0_PROGRAMS,
  DOM0_XEN_PROGRAMS,
  DOMU_DATA,
  DOMU_MODULES,
  DOMU_PROGRAMS,
  KERNEL_PACKAGE_NAME,
  PACKAGES,
  QEMU_BUILD_VERSION,
  QEMU_CONFIGURE_FLAGS,
  QEMU_DEVICES,
  QEMU_SOURCE,
  QEMU_SUITE,
  QEMU_TARGET,
  RECIPE_VERSION,
  SUITE,
  XEN_BINARY_PACKAGE,
  XEN_BUILD_VERSION,
  XEN_CONFIG_DELTA,
  XEN_MAKE_VARS,
  XEN_SERIES,
  XEN_SOURCE,
  XENSTORE_CLIENTS,
  dom0Texts,
  domUTexts,
  type RamdiskTexts,
} from './recipe.js';
import { RC_PATH, READY_LINE } from './scripts.js';

/** Package lists older than this are refreshed before versions are resolved. */
export const LISTS_MAX_AGE_MS = 6 * 3600_000;

const KERNEL_PACKAGE = /^linux-image-(\d+\.\d+\.\d+-\d+-arm64)$/;

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

/** The package list for a kernel choice: Debian's kernel package only when it is the kernel. */
export function withKernel(packages: readonly string[], kernel: KernelChoice | undefined): string[] {
  return kernel === 'source' ? packages.filter((p) => p !== KERNEL_PACKAGE_NAME) : [...packages];
}

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

export async function refreshLists(apt: PrivateApt, log: (line: string) => void): Promise<void> {
  try {
    await apt.ensureLists(LISTS_MAX_AGE_MS, log);
  } catch (cause) {
    if (cause instanceof NeedsChange) throw cause;
    // Stale lists still name downloadable (or already cached) versions: try them before failing.
    log(`warning: refreshing the private ${apt.source.suite} lists failed, using the old ones: ${(cause as Error).message}`);
  }
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

/**
 * The built components, from their caches or built now. Every missing component's source is
 * fetched and patched before any build starts, so a patch that does not apply fails in
 * seconds, not after a 15-minute QEMU build.
 */
export async function ensureComponents(cacheDir: string, plan: DebianPlan, log: (line: string) => void): Promise<DebianComponents> {
  let xen = await findXen(cacheDir, plan.xen);
  let qemu = await findQemu(cacheDir, plan.qemu);
  if (xen) log(`xen component cache hit: ${xen.dir}`);
  if (qemu) log(`qemu component cache hit: ${qemu.dir}`);
  const withLinux = await ensurePlannedKernel(cacheDir, plan.linux, plan.toolchain, log);
  if (xen && qemu) return { xen, qemu, ...withLinux };

  let preparedXen: PreparedXen | undefined;
  let preparedQemu: PreparedQemu | undefined;
  try {
    if (!xen) preparedXen = await prepareXen(cacheDir, plan.apt, plan.xen, log);
    if (!qemu) preparedQemu = await prepareQemu(cacheDir, plan.qemuApt, plan.qemu, log);
  } catch (cause) {
    // Nothing was built yet: the copied trees are only in the way of the next attempt.
    for (const p of [preparedXen, preparedQemu]) if (p) await rm(p.build.work, { recursive: true, force: true });
    throw cause;
  }
  const toolchain = await ensureToolchain(cacheDir, plan.toolchain, log);

  if (preparedXen) {
    log(`building the xen component ${plan.xen.key.slice(0, 12)}`);
    const deb = (await plan.apt.download([plan.xen.binary], log)).get(plan.xen.binary.name)!;
    xen = await buildXen(cacheDir, preparedXen, deb, toolchain);
    log(`xen component ready: ${xen.dir}`);
  }
  if (preparedQemu) {
    log(`building the qemu component ${plan.qemu.key.slice(0, 12)}`);
    qemu = await buildQemu(cacheDir, preparedQemu, toolchain);
    log(`qemu component ready: ${qemu.dir}`);
  }
  return { xen: xen!, qemu: qemu!, ...withLinux };
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
      linux: linuxVersion(built, pkgs),
      'linux-release': built.release,
      uboot: pkgs.version('u-boot-qemu'),
      busybox: pkgs.version('busybox-static'),
      dropbear: pkgs.version('dropbear-bin'),
      qemu: plan.qemu.sourceVersion,
    },
    files: built.files,
    capabilities: rigCapabilities(built.xenConfig, built.kernelConfig, components, await readFile(componentFile(components.xen, 'image'))),
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

export function componentFile(c: Component, purpose: string): string {
  return join(c.dir, c.record.files[purpose]!);
}

/** A kernel component as a bundle part. */
export function kernelPart(linux: Component): NonNullable<RigParts['kernel']> {
  return { image: componentFile(linux, 'image'), config: componentFile(linux, 'config'), release: componentFile(linux, 'release'), origin: { built: linux.record.built } };
}

/** The manifest's `linux` version: Debian's package version, or the release of the kernel we built. */
export function linuxVersion(built: AssembledRig, pkgs: PackageTrees): string {
  return built.kernelPackage ? pkgs.version(built.kernelPackage) : `${built.release} (built from source)`;
}

/** The built pieces a bundle is assembled from, whichever provider built them. */
export interface RigParts {
  /** A kernel built from source (its Image, .config and a file holding its release); Debian's package otherwise. */
  kernel?: { image: string; config: string; release: string; origin: FileOrigin };
  xen: { image: string; config: string; /** File name stem in the bundle, e.g. xen-4.17-arm64. */ name: string; origin: FileOrigin };
  qemu: { binary: string; origin: FileOrigin };
  texts: { dom0: RamdiskTexts; domU: RamdiskTexts };
  /** Installs the Xen tools (xl, xenstored, …, the xenstore client and its links) into dom0. */
  dom0Xen(dom0: RamdiskTree): Promise<void>;
  /** Trees searched before the Debian packages for programs and libraries (tools we built). */
  extraTrees?: { pkg: PackageVersion; dir: string }[];
}

/** What assembleRig made: the bundle's files and what the manifest is written from. */
export interface AssembledRig {
  files: RigFile[];
  pkgs: PackageTrees;
  /** Debian's kernel package; undefined for a kernel built from source. */
  kernelPackage?: string;
  release: string;
  xenConfig: string;
  kernelConfig: string;
  dom0Modules: string[];
  domUModules: string[];
}

/**
 * The root filesystem assembly every provider that uses Debian's userland shares: Xen and
 * QEMU from built components, Linux, u-boot, busybox, dropbear and the modules from the
 * resolved Debian packages, two ramdisks with our scripts. Writes nothing outside dir.
 */
export async function assembleRig(dir: string, apt: PrivateApt, resolved: PackageVersion[], parts: RigParts, log: (line: string) => void): Promise<AssembledRig> {
  const debs = await apt.download(resolved, log);
  const staging = join(dir, '.staging');
  log(`unpacking ${resolved.length} packages`);
  const unpacked = await PackageTrees.unpack(join(staging, 'packages'), resolved, debs);
  const pkgs = parts.extraTrees ? unpacked.withTreesFirst(parts.extraTrees) : unpacked;
  const origin = (name: string): FileOrigin => ({ package: name, version: pkgs.version(name) });

  const kernelPkg = parts.kernel ? undefined : resolved.find((p) => KERNEL_PACKAGE.test(p.name));
  if (!parts.kernel && !kernelPkg) throw new InfraError('linux-image-arm64 resolved to no linux-image-<release>-arm64 package');
  const release = parts.kernel ? (await readFile(parts.kernel.release, 'utf8')).trim() : KERNEL_PACKAGE.exec(kernelPkg!.name)![1]!;

  const files: RigFile[] = [];
  const add = async (role: FileRole, path: string, fileOrigin: FileOrigin) => {
    const full = join(dir, path);
    files.push({ role, path, sha256: await sha256File(full), size: (await stat(full)).size, origin: fileOrigin });
  };
  const take = async (role: FileRole, from: string, to: string, pkg: string) => {
    await copyFile((await pkgs.resolve(from)).hostPath, join(dir, to));
    await add(role, to, origin(pkg));
  };

  // The arm64 Xen build is one file that is both a plain Image and a PE/EFI binary; both roles get it.
  const { xen, qemu } = parts;
  await copyFile(xen.image, join(dir, xen.name));
  await add('xen-image', xen.name, xen.origin);
  await copyFile(xen.image, join(dir, `${xen.name}.efi`));
  await add('xen-efi', `${xen.name}.efi`, xen.origin);
  await copyFile(xen.config, join(dir, `${xen.name}.config`));
  await add('xen-config', `${xen.name}.config`, xen.origin);
  await copyFile(qemu.binary, join(dir, QEMU_TARGET));
  await add('backend-qemu', QEMU_TARGET, qemu.origin);
  await take('uboot', '/usr/lib/u-boot/qemu_arm64/u-boot.bin', 'u-boot.bin', 'u-boot-qemu');

  if (parts.kernel) {
    await copyFile(parts.kernel.image, join(dir, 'Image'));
    await add('kernel', 'Image', parts.kernel.origin);
  } else {
    // u-boot's booti and QEMU's -kernel want a plain Image; bookworm ships one, later kernels may gzip it.
    const vmlinuz = await readFile((await pkgs.resolve(`/boot/vmlinuz-${release}`)).hostPath);
    const gzipped = vmlinuz[0] === 0x1f && vmlinuz[1] === 0x8b;
    await writeFile(join(dir, 'Image'), gzipped ? gunzipSync(vmlinuz) : vmlinuz);
    await add('kernel', 'Image', {
      ...origin(kernelPkg!.name),
      ...(gzipped ? { built: `gunzip of /boot/vmlinuz-${release}` } : {}),
    });
  }

  log('assembling the dom0 ramdisk');
  const dom0 = await RamdiskTree.create(join(staging, 'dom0'), pkgs);
  for (const program of DOM0_BASE_PROGRAMS) await dom0.installElf(program);
  await parts.dom0Xen(dom0);
  await dom0.installBuilt(qemu.binary, BACKEND_QEMU_PATH);
  await mkdir(join(dom0.dir, 'etc/dropbear'), { recursive: true });
  // A kernel built from source has everything built in.
  const dom0Modules = parts.kernel ? [] : await installModules(dom0, pkgs, release, DOM0_MODULES);
  await finishRamdisk(dom0, parts.texts.dom0);
  await dom0.pack(join(dir, 'dom0-rootfs.cpio.gz'));
  await add('dom0-ramdisk', 'dom0-rootfs.cpio.gz', { built: builtText(dom0.packages) });

  log('assembling the domU ramdisk');
  const domU = await RamdiskTree.create(join(staging, 'domU'), pkgs);
  for (const program of DOMU_PROGRAMS) await domU.installElf(program);
  for (const data of DOMU_DATA) await domU.install(data);
  const domUModules = parts.kernel ? [] : await installModules(domU, pkgs, release, DOMU_MODULES);
  await finishRamdisk(domU, parts.texts.domU);
  await domU.pack(join(dir, 'domU-rootfs.cpio.gz'));
  await add('domU-ramdisk', 'domU-rootfs.cpio.gz', { built: builtText(domU.packages) });

  const xenConfig = await readFile(join(dir, `${xen.name}.config`), 'utf8');
  const kernelConfig = await readFile(parts.kernel ? parts.kernel.config : (await pkgs.resolve(`/boot/config-${release}`)).hostPath, 'utf8');
  await rm(staging, { recursive: true, force: true });
  return { files, pkgs, ...(kernelPkg ? { kernelPackage: kernelPkg.name } : {}), release, xenConfig, kernelConfig, dom0Modules, domUModules };
}

async function finishRamdisk(tree: RamdiskTree, texts: RamdiskTexts): Promise<void> {
  for (const [path, text] of Object.entries(texts)) await tree.write(path, text, path === RC_PATH ? 0o755 : 0o644);
  // The kernel runs /init; busybox picks the applet from the name it was started under.
  await tree.link('/init', 'bin/busybox');
  await tree.link('/usr/sbin/init', '../bin/busybox');
  await tree.link('/usr/bin/sh', 'busybox');
}

function builtText(packages: PackageVersion[]): string {
  return `gzip'd newc cpio assembled by xen-pvh-virtio (${RECIPE_VERSION}) from ${packages.map((p) => `${p.name}=${p.version}`).join(', ')}`;
}

function configHas(config: string, option: string): boolean {
  return new RegExp(`^${option}=y$`, 'm').test(config);
}

/**
 * Only what this rig can honestly do, read off the configs, the built components' features
 * and the dom0less properties the built hypervisor parses.
 */
export function rigCapabilities(xenConfig: string, kernelConfig: string, components: { xen: Component; qemu: Component }, xen: Buffer): Capability[] {
  const caps: Capability[] = ['dom0less', 'vpl011', 'xen-tools', 'ssh'];
  if (configHas(xenConfig, 'CONFIG_IOREQ_SERVER')) caps.push('ioreq');
  for (const c of xenPropertyCapabilities(xen)) if (c === 'trap-unmapped-accesses' || c === 'dom0less-virtio-pci') caps.push(c);
  if (components.qemu.record.features.xenpvhPci) caps.push('qemu-xenpvh-pci');
  if (configHas(kernelConfig, 'CONFIG_XEN_VIRTIO')) caps.push('virtio-grants');
  return caps;
}

/** Notes on the Debian userland and the ramdisks, true of every rig assembleRig makes. */
export function commonNotes(source: AptSource, built: AssembledRig): string[] {
  return [
    `Debian ${source.suite} ${source.components.join(' ')} arm64 packages from ${source.mirror} (no security pocket).`,
    `dom0: root is the dom0-ramdisk initramfs; after xenstored, xen-init-dom0, xenconsoled and init-dom0less it prints "${READY_LINE.dom0}" and keeps a root shell (PS1 "dom0# ") on the console.`,
    'dom0: eth0 is 10.0.2.15/24 via 10.0.2.2 (QEMU user networking); dropbear on port 22 accepts only keys from /root/.ssh/authorized_keys, which image/ appends to the dom0 ramdisk as a second cpio archive.',
    `domU: prints "${READY_LINE.domU}" and keeps a root shell (PS1 "domU# ") on the console; lspci and pci.ids included.`,
    built.kernelPackage
      ? `Modules loaded at boot: dom0 ${built.dom0Modules.join(' ')}; domU ${built.domUModules.join(' ')}.`
      : `Linux ${built.release} built from source, everything built in: no modules.`,
  ];
}

/** What the built configs lack, said plainly. */
export function configNotes(built: AssembledRig): string[] {
  const out: string[] = [];
  if (!configHas(built.xenConfig, 'CONFIG_IOREQ_SERVER')) {
    out.push('The hypervisor has no CONFIG_IOREQ_SERVER, so no device model in dom0 can serve a domU (no ioreq capability).');
  }
  if (!configHas(built.kernelConfig, 'CONFIG_XEN_VIRTIO')) out.push('Kernel without CONFIG_XEN_VIRTIO: virtio-pci in domUs needs foreign mappings, not grants.');
  return out;
}
