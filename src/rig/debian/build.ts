// The debian provider: resolve the recipe's packages to exact versions (cheap, from the
// private lists), and on a cache miss download them, unpack them and assemble the bundle.
import { copyFile, mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { InfraError } from '../../errors.js';
import { sha256File } from '../bundle.js';
import { recipeKey } from '../cache.js';
import { MANIFEST_SCHEMA_VERSION, type Capability, type FileOrigin, type FileRole, type RigFile, type RigManifest } from '../manifest.js';
import { PrivateApt, hostMirror, type AptSource, type PackageVersion } from './apt.js';
import { installModules } from './modules.js';
import { PackageTrees } from './packages.js';
import { RamdiskTree } from './ramdisk.js';
import {
  ARCH,
  COMPONENTS,
  DOM0_MODULES,
  DOM0_PROGRAMS,
  DOM0_XEN_PROGRAMS,
  DOMU_DATA,
  DOMU_MODULES,
  DOMU_PROGRAMS,
  PACKAGES,
  RECIPE_VERSION,
  SUITE,
  XEN_SERIES,
  XENSTORE_CLIENTS,
  dom0Texts,
  domUTexts,
  type RamdiskTexts,
} from './recipe.js';
import { RC_PATH, READY_LINE } from './scripts.js';

/** Package lists older than this are refreshed before versions are resolved. */
export const LISTS_MAX_AGE_MS = 6 * 3600_000;

const XEN_PACKAGE = `xen-hypervisor-${XEN_SERIES}-arm64`;
const KERNEL_PACKAGE = /^linux-image-(\d+\.\d+\.\d+-\d+-arm64)$/;

/** The recipe as printable data: what `xen-pvh-virtio plan` shows. Needs no network. */
export function debianRecipe(mirror = hostMirror()) {
  return {
    provider: 'debian' as const,
    recipeVersion: RECIPE_VERSION,
    source: { mirror, suite: SUITE, components: COMPONENTS, arch: ARCH } satisfies AptSource,
    packages: [...PACKAGES],
    modules: { dom0: [...DOM0_MODULES], domU: [...DOMU_MODULES] },
    programs: { dom0: DOM0_PROGRAMS, domU: [...DOMU_PROGRAMS, ...DOMU_DATA] },
    texts: { dom0: dom0Texts(), domU: domUTexts() },
  };
}
export type DebianRecipe = ReturnType<typeof debianRecipe>;

export interface DebianPlan {
  recipe: DebianRecipe;
  apt: PrivateApt;
  /** The full dependency closure with exact versions. */
  resolved: PackageVersion[];
  key: string;
}

/** Resolves exact versions from the private lists (refreshing them when stale) and derives the key. */
export async function planDebianRig(cacheDir: string, log: (line: string) => void): Promise<DebianPlan> {
  const recipe = debianRecipe();
  const apt = new PrivateApt(cacheDir, recipe.source);
  try {
    await apt.ensureLists(LISTS_MAX_AGE_MS, log);
  } catch (cause) {
    // Stale lists still name downloadable (or already cached) versions: try them before failing.
    log(`warning: refreshing the private package lists failed, using the old ones: ${(cause as Error).message}`);
  }
  const resolved = await apt.resolve(recipe.packages);
  // The mirror stays out of the key: signed archives give the same bytes from any mirror.
  const keyed = { ...recipe, source: { ...recipe.source, mirror: undefined } };
  const key = recipeKey({ ...keyed, resolved: resolved.map((p) => `${p.name}=${p.version}`) });
  return { recipe, apt, resolved, key };
}

/** Builds the bundle into dir (which becomes the bundle) and writes nothing outside it. */
export async function buildDebianRig(dir: string, plan: DebianPlan, log: (line: string) => void): Promise<RigManifest> {
  const debs = await plan.apt.download(plan.resolved, log);
  const staging = join(dir, '.staging');
  log(`unpacking ${plan.resolved.length} packages`);
  const pkgs = await PackageTrees.unpack(join(staging, 'packages'), plan.resolved, debs);
  const origin = (name: string): FileOrigin => ({ package: name, version: pkgs.version(name) });

  const kernelPkg = plan.resolved.find((p) => KERNEL_PACKAGE.test(p.name));
  if (!kernelPkg) throw new InfraError('linux-image-arm64 resolved to no linux-image-<release>-arm64 package');
  const release = KERNEL_PACKAGE.exec(kernelPkg.name)![1]!;

  const files: RigFile[] = [];
  const add = async (role: FileRole, path: string, fileOrigin: FileOrigin) => {
    const full = join(dir, path);
    files.push({ role, path, sha256: await sha256File(full), size: (await stat(full)).size, origin: fileOrigin });
  };
  const take = async (role: FileRole, from: string, to: string, pkg: string) => {
    await copyFile((await pkgs.resolve(from)).hostPath, join(dir, to));
    await add(role, to, origin(pkg));
  };

  // Debian's arm64 Xen image and .efi are the same bytes (PE header + Image header); both roles get a file.
  await take('xen-image', `/boot/xen-${XEN_SERIES}-arm64`, `xen-${XEN_SERIES}-arm64`, XEN_PACKAGE);
  await take('xen-efi', `/boot/xen-${XEN_SERIES}-arm64.efi`, `xen-${XEN_SERIES}-arm64.efi`, XEN_PACKAGE);
  await take('xen-config', `/boot/xen-${XEN_SERIES}-arm64.config`, `xen-${XEN_SERIES}-arm64.config`, XEN_PACKAGE);
  await take('uboot', '/usr/lib/u-boot/qemu_arm64/u-boot.bin', 'u-boot.bin', 'u-boot-qemu');

  // u-boot's booti and QEMU's -kernel want a plain Image; bookworm ships one, later kernels may gzip it.
  const vmlinuz = await readFile((await pkgs.resolve(`/boot/vmlinuz-${release}`)).hostPath);
  const gzipped = vmlinuz[0] === 0x1f && vmlinuz[1] === 0x8b;
  await writeFile(join(dir, 'Image'), gzipped ? gunzipSync(vmlinuz) : vmlinuz);
  await add('kernel', 'Image', {
    ...origin(kernelPkg.name),
    ...(gzipped ? { built: `gunzip of /boot/vmlinuz-${release}` } : {}),
  });

  log('assembling the dom0 ramdisk');
  const dom0 = await RamdiskTree.create(join(staging, 'dom0'), pkgs);
  for (const program of DOM0_PROGRAMS) await dom0.installElf(program);
  for (const program of DOM0_XEN_PROGRAMS) {
    const name = program.slice(program.lastIndexOf('/') + 1);
    await dom0.link(`/usr/sbin/${name}`, `../lib/xen-${XEN_SERIES}/bin/${name}`);
  }
  for (const client of XENSTORE_CLIENTS) await dom0.link(`/usr/bin/${client}`, 'xenstore');
  await mkdir(join(dom0.dir, 'etc/dropbear'), { recursive: true });
  const dom0Modules = await installModules(dom0, pkgs, release, DOM0_MODULES);
  await finishRamdisk(dom0, plan.recipe.texts.dom0);
  await dom0.pack(join(dir, 'dom0-rootfs.cpio.gz'));
  await add('dom0-ramdisk', 'dom0-rootfs.cpio.gz', { built: builtText(dom0.packages) });

  log('assembling the domU ramdisk');
  const domU = await RamdiskTree.create(join(staging, 'domU'), pkgs);
  for (const program of DOMU_PROGRAMS) await domU.installElf(program);
  for (const data of DOMU_DATA) await domU.install(data);
  const domUModules = await installModules(domU, pkgs, release, DOMU_MODULES);
  await finishRamdisk(domU, plan.recipe.texts.domU);
  await domU.pack(join(dir, 'domU-rootfs.cpio.gz'));
  await add('domU-ramdisk', 'domU-rootfs.cpio.gz', { built: builtText(domU.packages) });

  const xenConfig = await readFile(join(dir, `xen-${XEN_SERIES}-arm64.config`), 'utf8');
  const kernelConfig = await readFile((await pkgs.resolve(`/boot/config-${release}`)).hostPath, 'utf8');
  await rm(staging, { recursive: true, force: true });

  return {
    schemaVersion: MANIFEST_SCHEMA_VERSION,
    provider: 'debian',
    key: plan.key,
    createdAt: new Date().toISOString(),
    versions: {
      xen: pkgs.version(XEN_PACKAGE),
      'xen-tools': pkgs.version(`xen-utils-${XEN_SERIES}`),
      linux: pkgs.version(kernelPkg.name),
      'linux-release': release,
      uboot: pkgs.version('u-boot-qemu'),
      busybox: pkgs.version('busybox-static'),
      dropbear: pkgs.version('dropbear-bin'),
    },
    files,
    capabilities: capabilities(xenConfig, kernelConfig),
    notes: notes(plan, xenConfig, kernelConfig, dom0Modules, domUModules),
  };
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

/** Only what this rig can honestly do, read off the configs where a config decides it. */
function capabilities(xenConfig: string, kernelConfig: string): Capability[] {
  const caps: Capability[] = ['dom0less', 'vpl011', 'xen-tools', 'ssh'];
  if (configHas(xenConfig, 'CONFIG_IOREQ_SERVER')) caps.push('ioreq');
  if (configHas(kernelConfig, 'CONFIG_XEN_VIRTIO')) caps.push('virtio-grants');
  return caps;
}

function notes(plan: DebianPlan, xenConfig: string, kernelConfig: string, dom0Modules: string[], domUModules: string[]): string[] {
  const { mirror, suite, components } = plan.recipe.source;
  const out = [
    `Debian ${suite} ${components.join(' ')} arm64 packages from ${mirror} (no security pocket).`,
    `dom0: root is the dom0-ramdisk initramfs; after xenstored, xen-init-dom0, xenconsoled and init-dom0less it prints "${READY_LINE.dom0}" and keeps a root shell (PS1 "dom0# ") on the console.`,
    'dom0: eth0 is 10.0.2.15/24 via 10.0.2.2 (QEMU user networking); dropbear on port 22 accepts only keys from /root/.ssh/authorized_keys, which image/ appends to the dom0 ramdisk as a second cpio archive.',
    `domU: prints "${READY_LINE.domU}" and keeps a root shell (PS1 "domU# ") on the console; lspci and pci.ids included.`,
    `Modules loaded at boot: dom0 ${dom0Modules.join(' ')}; domU ${domUModules.join(' ')}.`,
  ];
  if (!configHas(xenConfig, 'CONFIG_IOREQ_SERVER')) {
    out.push("Debian's stock hypervisor: CONFIG_IOREQ_SERVER is not set, so no device model in dom0 can serve a domU (no ioreq capability).");
  }
  if (!configHas(kernelConfig, 'CONFIG_XEN_VIRTIO')) out.push('Kernel without CONFIG_XEN_VIRTIO: virtio-pci in domUs needs foreign mappings, not grants.');
  return out;
}
