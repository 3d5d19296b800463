// The rig's root filesystems and boot files, assembled from Debian's userland: every provider
// whose dom0 and domUs run Debian's packages (debian, source) shares this. Xen and QEMU come
// from built components, Linux from Debian's package or a built component, u-boot, busybox,
// dropbear and the modules from the resolved packages; two ramdisks with our scripts.
import { copyFile, mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { InfraError } from '../../errors.js';
import { sha256File } from '../bundle.js';
import { configHas, rigCapabilities } from '../capabilities.js';
import { componentFile, type Component } from '../build/component.js';
import { QEMU_TARGET } from '../build/qemu.js';
import { originVersions, releaseText, type TreeOrigin } from '../build/origin.js';
import type { Capability, FileOrigin, FileRole, RigFile } from '../manifest.js';
import type { AptSource, PackageVersion, PrivateApt } from './apt.js';
import { installModules } from './modules.js';
import { PackageTrees } from './packages.js';
import { RamdiskTree } from './ramdisk.js';
import { BACKEND_QEMU_PATH, DOM0_BASE_PROGRAMS, DOM0_MODULES, DOMU_DATA, DOMU_MODULES, DOMU_PROGRAMS, RECIPE_VERSION, type RamdiskTexts } from './recipe.js';
import { RC_PATH, READY_LINE } from './scripts.js';

const KERNEL_PACKAGE = /^linux-image-(\d+\.\d+\.\d+-\d+-arm64)$/;

/** A kernel component as a bundle part. */
export function kernelPart(linux: Component): NonNullable<RigParts['kernel']> {
  return { image: componentFile(linux, 'image'), config: componentFile(linux, 'config'), release: componentFile(linux, 'release'), origin: { built: linux.record.built } };
}

/** The manifest's `linux` version: Debian's package version, or the release of the kernel we built. */
export function linuxVersion(built: AssembledRig, pkgs: PackageTrees): string {
  return built.kernelPackage ? pkgs.version(built.kernelPackage) : `${built.release} (built from source)`;
}

/**
 * The manifest's Linux versions: the package's, or the built release; a kernel built from the
 * user's ref or tree also says which (as Xen and QEMU do) and gets linux-commit and the rest.
 */
export function linuxVersions(built: AssembledRig, pkgs: PackageTrees, source: { kind: string } | undefined): Record<string, string> {
  if (built.kernelPackage || !source || (source.kind !== 'git' && source.kind !== 'path')) return { linux: linuxVersion(built, pkgs) };
  const origin = source as TreeOrigin;
  return { linux: releaseText(built.release, origin), ...originVersions('linux', origin) };
}

/** The built pieces a bundle is assembled from, whichever provider built them. */
export interface RigParts {
  /** A kernel built from source (its Image, .config and a file holding its release); Debian's package otherwise. */
  kernel?: { image: string; config: string; release: string; origin: FileOrigin };
  xen: { image: string; config: string; /** File name stem in the bundle, e.g. xen-4.17-arm64. */ name: string; origin: FileOrigin };
  /** xenpvhPci: the component's source defines the xenpvh machine's PCI property. */
  qemu: { binary: string; origin: FileOrigin; xenpvhPci: boolean };
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
  capabilities: Capability[];
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
  const capabilities = rigCapabilities({
    xen: await readFile(xen.image),
    xenConfig,
    kernelConfig,
    // dom0 was given Xen's tools (dom0Xen) and dropbear above, or the assembly failed.
    dom0: { xenTools: true, ssh: true },
    qemuXenpvhPci: qemu.xenpvhPci,
  });
  return { files, pkgs, ...(kernelPkg ? { kernelPackage: kernelPkg.name } : {}), release, xenConfig, kernelConfig, dom0Modules, domUModules, capabilities };
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
