// Maps a Yocto deploy directory (tmp/deploy/images/<machine>) into a rig bundle: the files
// are found by the names Yocto gives them (following its symlinks to the dated files), and
// the evidence for its capabilities (rig/capabilities.ts) is what is there (configs, strings
// in the binaries, the contents of dom0's root filesystem), never version numbers.
import { copyFile, readFile, readdir, realpath, stat, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { ConfigError } from '../../errors.js';
import { run } from '../../host/exec.js';
import { sha256File } from '../bundle.js';
import { XENPVH_PCI_PROPERTY, binaryNames, dom0Evidence, rigCapabilities } from '../capabilities.js';
import { MANIFEST_SCHEMA_VERSION, type FileOrigin, type FileRole, type RigFile, type RigManifest } from '../manifest.js';

export interface DeployMapping {
  deployDir: string;
  machine: string;
  dom0Image: string;
  domUImage: string;
  /** The SDK-built device model, when there is one. */
  backendQemu?: { path: string; origin: FileOrigin };
  /** The rig key the bundle is stored under. */
  key: string;
  versions?: RigManifest['versions'];
  notes?: string[];
}

/** Candidate names per role, most specific first; the first that exists wins. */
export function deployNames(m: Pick<DeployMapping, 'machine' | 'dom0Image' | 'domUImage'>): Record<string, string[]> {
  const { machine, dom0Image, domUImage } = m;
  return {
    // meta-virtualization deploys xen-<machine> (an arm64 Xen is a plain Image and a PE/EFI binary at once).
    xen: [`xen-${machine}`, 'xen'],
    xenEfi: [`xen-${machine}.efi`, 'xen.efi'],
    xenConfig: [`xen-${machine}.cfg`, `xen-${machine}.config`, 'xen.config', 'xen.cfg'],
    kernel: ['Image', `Image-${machine}.bin`],
    kernelConfig: [`config-${machine}`, 'config'],
    // Since Yocto 4.3 the link is <image>-<machine>.rootfs.<type>; before, <image>-<machine>.<type>.
    dom0Ramdisk: [`${dom0Image}-${machine}.rootfs.cpio.gz`, `${dom0Image}-${machine}.cpio.gz`],
    dom0Rootfs: [`${dom0Image}-${machine}.rootfs.ext4`, `${dom0Image}-${machine}.ext4`],
    domURamdisk: [`${domUImage}-${machine}.rootfs.cpio.gz`, `${domUImage}-${machine}.cpio.gz`],
    uboot: ['u-boot.bin', `u-boot-${machine}.bin`],
  };
}

interface Found {
  /** The name as listed in the deploy directory (often a symlink). */
  name: string;
  /** The file it resolves to. */
  real: string;
}

async function find(deployDir: string, names: string[]): Promise<Found | undefined> {
  for (const name of names) {
    const path = join(deployDir, name);
    // Candidates that are not there are the normal case: the next name is tried.
    const st = await stat(path).catch(() => undefined);
    if (st?.isFile()) return { name, real: await realpath(path) };
  }
  return undefined;
}

/** Writes the bundle's files into outDir and returns its manifest (the caller writes it). */
export async function mapDeployDir(m: DeployMapping, outDir: string): Promise<RigManifest> {
  // Whatever keeps us from it, the error below says the deploy directory is not there to map.
  const st = await stat(m.deployDir).catch(() => undefined);
  if (!st?.isDirectory()) throw new ConfigError(`Yocto deploy directory ${m.deployDir} does not exist: did the kas build finish?`);
  const names = deployNames(m);
  const listing = (await readdir(m.deployDir)).sort();
  const need = async (what: string, key: string, hint: string): Promise<Found> => {
    const found = await find(m.deployDir, names[key]!);
    if (!found) {
      throw new ConfigError(
        `Yocto deploy directory ${m.deployDir} has no ${what} (looked for ${names[key]!.join(', ')}); ${hint}. It holds: ${listing.join(', ') || 'nothing'}`,
      );
    }
    return found;
  };

  const files: RigFile[] = [];
  const add = async (role: FileRole, name: string, found: Found | { real: string; name?: string }, origin?: FileOrigin) => {
    const to = join(outDir, name);
    await copyFile(found.real, to);
    const from = found.name && found.name !== basename(found.real) ? `${found.name} → ${basename(found.real)}` : basename(found.real);
    files.push({ role, path: name, sha256: await sha256File(to), size: (await stat(to)).size, origin: origin ?? { built: `Yocto deploy ${m.deployDir}: ${from}` } });
  };

  const xen = (await find(m.deployDir, names.xen!)) ?? (await find(m.deployDir, names.xenEfi!));
  if (!xen) throw new ConfigError(`Yocto deploy directory ${m.deployDir} has no Xen (looked for ${[...names.xen!, ...names.xenEfi!].join(', ')}); is xen in the image's dependencies?`);
  const xenEfi = (await find(m.deployDir, names.xenEfi!)) ?? xen;
  const xenBytes = await readFile(xen.real);
  await add('xen-image', 'xen', xen);
  // u-boot's bootefi needs a PE image: an arm64 Xen built with EFI support starts with "MZ".
  if ((await readFile(xenEfi.real)).subarray(0, 2).toString('latin1') === 'MZ') await add('xen-efi', 'xen.efi', xenEfi);
  const xenConfigFile = await find(m.deployDir, names.xenConfig!);
  const xenConfig = xenConfigFile ? await readFile(xenConfigFile.real, 'utf8') : undefined;
  if (xenConfigFile) await add('xen-config', 'xen.config', xenConfigFile);

  const kernel = await need('kernel', 'kernel', 'is linux-yocto deployed for this machine?');
  let kernelBytes = await readFile(kernel.real);
  if (kernelBytes[0] === 0x1f && kernelBytes[1] === 0x8b) {
    // image/ and QEMU -kernel want a plain Image; Xen would take either.
    kernelBytes = gunzipSync(kernelBytes);
    await writeFile(join(outDir, 'Image'), kernelBytes);
    files.push({ role: 'kernel', path: 'Image', sha256: await sha256File(join(outDir, 'Image')), size: kernelBytes.length, origin: { built: `gunzip of Yocto deploy ${m.deployDir}: ${kernel.name}` } });
  } else {
    await add('kernel', 'Image', kernel);
  }
  const kernelConfigFile = await find(m.deployDir, names.kernelConfig!);
  const kernelConfig = kernelConfigFile ? await readFile(kernelConfigFile.real, 'utf8') : undefined;

  const dom0Ramdisk = await find(m.deployDir, names.dom0Ramdisk!);
  const dom0Rootfs = await find(m.deployDir, names.dom0Rootfs!);
  if (!dom0Ramdisk && !dom0Rootfs) {
    throw new ConfigError(
      `Yocto deploy directory ${m.deployDir} has no ${m.dom0Image} root filesystem (looked for ${[...names.dom0Ramdisk!, ...names.dom0Rootfs!].join(', ')}); add cpio.gz to IMAGE_FSTYPES. It holds: ${listing.join(', ')}`,
    );
  }
  if (dom0Ramdisk) await add('dom0-ramdisk', `${m.dom0Image}-${m.machine}.rootfs.cpio.gz`, dom0Ramdisk);
  if (dom0Rootfs) await add('dom0-rootfs', `${m.dom0Image}-${m.machine}.rootfs.ext4`, dom0Rootfs);
  const domU = await need(`${m.domUImage} ramdisk`, 'domURamdisk', `add cpio.gz to IMAGE_FSTYPES for ${m.domUImage} in the kas file's local_conf_header`);
  await add('domU-ramdisk', `${m.domUImage}-${m.machine}.rootfs.cpio.gz`, domU);
  const uboot = await find(m.deployDir, names.uboot!);
  if (uboot) await add('uboot', 'u-boot.bin', uboot);
  if (m.backendQemu) await add('backend-qemu', 'qemu-system-aarch64', { real: m.backendQemu.path }, m.backendQemu.origin);

  const dom0Paths = dom0Ramdisk ? await cpioPaths(dom0Ramdisk.real) : new Set<string>();
  const qemuBytes = m.backendQemu ? await readFile(m.backendQemu.path) : undefined;
  const detected = rigCapabilities({
    xen: xenBytes,
    xenConfig,
    kernelConfig,
    kernel: kernelBytes,
    dom0: dom0Evidence(dom0Paths),
    qemuXenpvhPci: binaryNames(qemuBytes, XENPVH_PCI_PROPERTY),
  });

  const notes = [...(m.notes ?? [])];
  notes.push(`Mapped from the Yocto deploy directory ${m.deployDir} (machine ${m.machine}; dom0 ${m.dom0Image}, domU ${m.domUImage}).`);
  if (!xenConfig) notes.push("No Xen .config was deployed: the ioreq capability cannot be read off the hypervisor's configuration, so it is not claimed.");
  if (!dom0Ramdisk) notes.push(`dom0 has only an ext4 root (${dom0Rootfs!.name}): its tools and SSH server are not looked for, and boot media need a dom0 ramdisk today.`);
  if (!uboot) notes.push('No u-boot.bin was deployed: only the direct boot path can boot this rig.');
  if (!m.backendQemu) notes.push('No backend QEMU: scenarios that start a device model in dom0 are skipped.');
  return {
    schemaVersion: MANIFEST_SCHEMA_VERSION,
    provider: 'yocto',
    key: m.key,
    createdAt: new Date().toISOString(),
    versions: { ...(await imageVersions(m)), ...m.versions },
    files,
    capabilities: detected,
    notes,
  };
}

/** Packages whose versions the report shows, as Yocto names them in an image's .manifest. */
const REPORTED_PACKAGES: [string, RegExp][] = [
  ['xen-tools', /^xen-tools-xl$/],
  ['linux', /^kernel-\d/],
  ['busybox', /^busybox$/],
];

/** Versions from dom0's image manifest ("package arch version" per line), when it was deployed. */
async function imageVersions(m: DeployMapping): Promise<RigManifest['versions']> {
  const file = (await find(m.deployDir, [`${m.dom0Image}-${m.machine}.rootfs.manifest`, `${m.dom0Image}-${m.machine}.manifest`]))?.real;
  if (!file) return {};
  const versions: RigManifest['versions'] = {};
  for (const line of (await readFile(file, 'utf8')).split('\n')) {
    const [pkg, , version] = line.trim().split(/\s+/);
    if (!pkg || !version) continue;
    const hit = REPORTED_PACKAGES.find(([name, re]) => re.test(pkg) && versions[name] === undefined);
    if (hit) versions[hit[0]] = version;
  }
  return versions;
}

/** The paths inside a gzip'd cpio archive, without a leading "./" or "/". */
async function cpioPaths(file: string): Promise<Set<string>> {
  const { stdout } = await run('cpio', ['-t', '--quiet'], { input: gunzipSync(await readFile(file)) });
  return new Set(stdout.split('\n').filter(Boolean).map((p) => p.replace(/^\.?\//, '')));
}
