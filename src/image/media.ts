// BootMedia: everything the machine needs to boot this run, planned purely from the rig's
// manifest and the domain specs, then built (DT dump, dtc, mkimage, mke2fs, sfdisk).
import { mkdir, stat, writeFile } from 'node:fs/promises';
import { isAbsolute, join } from 'node:path';
import type { BootPath, DomainSpec } from '../config/types.js';
import { InfraError } from '../errors.js';
import { run } from '../host/exec.js';
import { bootArgs, QEMU_BINARY, type Accel, type BootArgsInput, type MachineShape } from '../machine/qemu-args.js';
import type { MachineLaunch } from '../machine/machine.js';
import { socketDirFor } from '../machine/socket-dir.js';
import type { FileRole, Rig } from '../rig/manifest.js';
import { bootScript } from './boot-script.js';
import { authorizedKeysArchive } from './cpio.js';
import { planBootDisk, buildBootDisk, type DiskFile, type DiskLayout } from './disk.js';
import { compileDts, dumpMachineDts, mergeFragment, stdoutPathOf } from './dtb.js';
import { chosenFragment, DEFAULT_STDOUT_PATH, type DomainModules } from './dts.js';
import { chooseHostBridge, type HostBridgeChoice } from './host-bridge.js';
import { resolveLayout, type DomainLayout, type LayoutOptions } from './layout.js';
import { passthroughDts } from './passthrough-dts.js';
import { resolvePciHostBridge, type PciHostBridge } from './pci.js';
import { placeModules, type ModuleFile, type ModulePlacement } from './placement.js';
import { appendArchive, APPENDED_ARCHIVE_RESERVE } from './ramdisk.js';
import { writeRunKeyPair } from './ssh-key.js';

export interface BootMediaRequest {
  rig: Rig;
  /** The dom0less domUs (a spec with domid 0, if any, sizes dom0). */
  domains: readonly DomainSpec[];
  boot: BootPath;
  /** This run's directory: keys, device trees, disks and sockets go here. */
  workDir: string;
  /** Host port forwarded to dom0's sshd; already reserved (see machine/reservePort). */
  sshPort: number;
  layout?: LayoutOptions;
  accel?: Accel;
}

/** File names on the boot disk (and in Xen's xen,uefi-binary properties). */
export const BOOT_FILES = {
  xenEfi: 'xen.efi',
  kernel: 'Image',
  dtb: 'xen.dtb',
  script: 'boot.scr',
  dom0Ramdisk: 'dom0-ramdisk',
  domURamdisk: 'domU-ramdisk',
} as const;

/** A domU's pt.dtb on the boot disk and in its xen,uefi-binary property. */
export function passthroughDtbFile(domain: string): string {
  return `pt-${domain}.dtb`;
}

/** Room planned for a pt.dtb before dtc has run (they compile to about 1.5 KiB). */
export const PASSTHROUGH_DTB_RESERVE = 64 * 1024;

/** The u-boot device holding the boot partition: the first virtio-blk disk, partition 1. */
export const UBOOT_BOOT_DEVICE = 'virtio 0:1';

/** A domU's partial device tree: its host bridge, the source, and where dtc writes it. */
export interface PassthroughDt {
  domain: string;
  bridge: PciHostBridge;
  dts: string;
  dtsPath: string;
  dtbPath: string;
  /** Name on the boot disk (u-boot path). */
  file: string;
}

/** A domU's virtio-pci host bridge and the mechanism that puts it in the domU's device tree. */
export interface HostBridgePlan extends HostBridgeChoice {
  domain: string;
  bridge: PciHostBridge;
}

/** Plain data: the whole boot, before (plan) or after (built) the files exist. */
export interface BootMedia {
  boot: BootPath;
  layout: DomainLayout;
  shape: MachineShape;
  /** The fragment merged into the machine's DT (what `plan` prints). */
  dtsFragment: string;
  /** The complete xen.dts; empty in a plan, where the machine DT was not dumped. */
  dts: string;
  dtbPath: string;
  /** u-boot path only: the script's text, its source file and the mkimage'd boot.scr. */
  bootScript?: { text: string; sourcePath: string; path: string };
  /** u-boot path: the boot disk. Direct path: none. */
  disks: DiskLayout[];
  /** Direct path: where QEMU's loader puts each module. */
  placements: ModulePlacement[];
  /** One per domU with virtio-pci, in domid order: its bridge and who writes it. */
  hostBridges: HostBridgePlan[];
  /** One per host bridge we describe (node passthrough), in domid order. */
  passthrough: PassthroughDt[];
  sshKey: { privateKeyPath: string; publicKeyPath: string };
  dom0RamdiskPath: string;
  /** Where the serial and QMP sockets live: workDir, or a short temp dir the caller removes. */
  socketDir: string;
  launch: MachineLaunch;
  /** What `launch.args` was made from: a restore rebuilds the argv with new sockets and port. */
  machineInput: BootArgsInput;
}

interface RigPaths {
  xen: { path: string; size: number };
  uboot?: string;
  kernel: { path: string; size: number };
  dom0Ramdisk: { path: string; size: number };
  domURamdisk: { path: string; size: number };
}

function rigFile(rig: Rig, ...roles: FileRole[]): { path: string; size: number } | undefined {
  for (const role of roles) {
    const f = rig.manifest.files.find((x) => x.role === role);
    if (f) return { path: isAbsolute(f.path) ? f.path : join(rig.dir, f.path), size: f.size };
  }
  return undefined;
}

function needRigFile(rig: Rig, why: string, ...roles: FileRole[]): { path: string; size: number } {
  const f = rigFile(rig, ...roles);
  if (!f) throw new InfraError(`the ${rig.manifest.provider} rig in ${rig.dir} has no ${roles.join(' or ')} file, needed ${why}`);
  return f;
}

function rigPaths(rig: Rig, boot: BootPath): RigPaths {
  const xen =
    boot === 'uboot'
      ? needRigFile(rig, 'for bootefi', 'xen-efi')
      : needRigFile(rig, 'for QEMU -kernel', 'xen-image', 'xen-efi');
  return {
    xen,
    uboot: boot === 'uboot' ? needRigFile(rig, 'as the firmware', 'uboot').path : undefined,
    kernel: needRigFile(rig, 'to boot the domains', 'kernel'),
    dom0Ramdisk: needRigFile(rig, "as dom0's root", 'dom0-ramdisk'),
    domURamdisk: needRigFile(rig, "as the domUs' root", 'domU-ramdisk'),
  };
}

interface Sizes {
  dom0Ramdisk?: number;
  /** Compiled pt.dtb sizes, by domU name. */
  passthroughDtbs?: Readonly<Record<string, number>>;
}

/** Every domU with virtio-pci: its bridge and who writes it (refused where the domU would panic). */
function planHostBridges(req: BootMediaRequest, layout: DomainLayout): HostBridgePlan[] {
  const out: HostBridgePlan[] = [];
  for (const d of layout.domUs) {
    const spec = req.domains.find((s) => s.name === d.name && s.domid === d.domid);
    const bridge = spec && resolvePciHostBridge(spec);
    if (!bridge) continue;
    out.push({ domain: d.name, bridge, ...chooseHostBridge(bridge, spec.virtioPciNode, req.rig) });
  }
  return out;
}

/** The pt.dtb of every domU whose bridge we describe. */
function planPassthrough(req: BootMediaRequest, bridges: readonly HostBridgePlan[]): PassthroughDt[] {
  return bridges
    .filter((b) => b.node === 'passthrough')
    .map(({ domain, bridge }) => {
      const file = passthroughDtbFile(domain);
      return {
        domain,
        bridge,
        dts: passthroughDts(bridge),
        dtsPath: join(req.workDir, file.replace(/\.dtb$/, '.dts')),
        dtbPath: join(req.workDir, file),
        file,
      };
    });
}

/**
 * Plans the boot from the rig's manifest: no tools run, no files written. buildBootMedia
 * calls it again with the real dom0 ramdisk size; the addresses stay the same.
 */
export function planBootMedia(req: BootMediaRequest, sizes: Sizes = {}, socketDir = req.workDir): BootMedia {
  const layout = resolveLayout(req.domains, req.layout);
  const hostBridges = planHostBridges(req, layout);
  const passthrough = planPassthrough(req, hostBridges);
  const ptSize = (domain: string) => sizes.passthroughDtbs?.[domain] ?? PASSTHROUGH_DTB_RESERVE;
  const files = rigPaths(req.rig, req.boot);
  const w = (name: string) => join(req.workDir, name);
  const dom0RamdiskPath = w('dom0-ramdisk.cpio');
  const dom0RamdiskSize = sizes.dom0Ramdisk ?? files.dom0Ramdisk.size + APPENDED_ARCHIVE_RESERVE;
  const shape: MachineShape = {
    memoryMiB: layout.machine.memoryMiB,
    cpus: layout.machine.cpus,
    bios: files.uboot,
    accel: req.accel ?? 'tcg',
  };
  const dtbPath = w('xen.dtb');
  const serialSocket = join(socketDir, 'serial.sock');
  const qmpSocket = join(socketDir, 'qmp.sock');
  const sshKey = { privateKeyPath: w('id_ed25519'), publicKeyPath: w('id_ed25519.pub') };
  const modules: Record<string, DomainModules> = {};
  let placements: ModulePlacement[] = [];
  let disks: DiskLayout[] = [];
  let script: BootMedia['bootScript'];
  let machineInput: BootArgsInput;
  const common = { shape, serialSocket, qmpSocket, sshPort: req.sshPort };

  if (req.boot === 'uboot') {
    modules['dom0'] = {
      kernel: { style: 'uefi', file: BOOT_FILES.kernel },
      ramdisk: { style: 'uefi', file: BOOT_FILES.dom0Ramdisk },
    };
    for (const d of layout.domUs) {
      modules[d.name] = {
        kernel: { style: 'uefi', file: BOOT_FILES.kernel },
        ramdisk: { style: 'uefi', file: BOOT_FILES.domURamdisk },
      };
    }
    for (const p of passthrough) modules[p.domain]!.dtb = { style: 'uefi', file: p.file };
    const scriptPath = w(BOOT_FILES.script);
    script = {
      path: scriptPath,
      sourcePath: w('boot.cmd'),
      text: bootScript({ device: UBOOT_BOOT_DEVICE, dtbFile: BOOT_FILES.dtb, xenEfiFile: BOOT_FILES.xenEfi }),
    };
    // The boot files' sizes: xen.dtb and boot.scr are small; a generous guess keeps the plan pure.
    const diskFiles: DiskFile[] = [
      { name: BOOT_FILES.xenEfi, source: files.xen.path, size: files.xen.size },
      { name: BOOT_FILES.kernel, source: files.kernel.path, size: files.kernel.size },
      { name: BOOT_FILES.dom0Ramdisk, source: dom0RamdiskPath, size: dom0RamdiskSize },
      { name: BOOT_FILES.domURamdisk, source: files.domURamdisk.path, size: files.domURamdisk.size },
      { name: BOOT_FILES.dtb, source: dtbPath, size: 1024 * 1024 },
      { name: BOOT_FILES.script, source: scriptPath, size: 64 * 1024 },
      ...passthrough.map((p) => ({ name: p.file, source: p.dtbPath, size: ptSize(p.domain) })),
    ];
    disks = [planBootDisk(w('boot.img'), diskFiles)];
    machineInput = { ...common, target: { kind: 'uboot', disks: disks.map((d) => d.path) } };
  } else {
    const wanted: ModuleFile[] = [
      { domain: 'dom0', kind: 'kernel', file: files.kernel.path, size: files.kernel.size },
      {
        domain: 'dom0',
        kind: 'ramdisk',
        file: dom0RamdiskPath,
        size: dom0RamdiskSize,
        reserve: files.dom0Ramdisk.size + APPENDED_ARCHIVE_RESERVE,
      },
    ];
    // Each domain gets its own copies: Xen may decompress or free a module once it is used.
    for (const d of layout.domUs) {
      wanted.push({ domain: d.name, kind: 'kernel', file: files.kernel.path, size: files.kernel.size });
      wanted.push({ domain: d.name, kind: 'ramdisk', file: files.domURamdisk.path, size: files.domURamdisk.size });
      const p = passthrough.find((x) => x.domain === d.name);
      if (p) wanted.push({ domain: d.name, kind: 'dtb', file: p.dtbPath, size: ptSize(d.name), reserve: PASSTHROUGH_DTB_RESERVE });
    }
    placements = placeModules(wanted, layout.machine.memoryMiB);
    for (const p of placements) {
      const entry = (modules[p.domain] ??= { kernel: { style: 'reg', addr: 0, size: 0 } });
      entry[p.kind] = { style: 'reg', addr: p.addr, size: p.size };
    }
    machineInput = {
      ...common,
      target: { kind: 'direct', xenImage: files.xen.path, dtb: dtbPath, blobs: placements.map((p) => ({ file: p.file, addr: p.addr })) },
    };
  }

  return {
    boot: req.boot,
    layout,
    shape,
    dtsFragment: chosenFragment({
      layout,
      modules,
      stdoutPath: DEFAULT_STDOUT_PATH,
      trapUnmapped: req.rig.manifest.capabilities.includes('trap-unmapped-accesses'),
      xenVirtioPci: Object.fromEntries(hostBridges.filter((b) => b.property).map((b) => [b.domain, b.property!])),
    }),
    dts: '',
    dtbPath,
    bootScript: script,
    disks,
    placements,
    hostBridges,
    passthrough,
    sshKey,
    dom0RamdiskPath,
    socketDir,
    launch: { binary: QEMU_BINARY, args: bootArgs(machineInput), serialSocket, qmpSocket, sshPort: req.sshPort },
    machineInput,
  };
}

export interface BuildLog {
  (message: string): void;
}

/** Writes every file the boot needs into workDir and returns where they are. */
export async function buildBootMedia(req: BootMediaRequest, log: BuildLog = () => undefined): Promise<BootMedia> {
  // Validates the specs before any tool runs.
  const draft = planBootMedia(req);
  await mkdir(req.workDir, { recursive: true });
  const socketDir = await socketDirFor(req.workDir);
  const files = rigPaths(req.rig, req.boot);

  const key = await writeRunKeyPair(req.workDir);
  const dom0RamdiskPath = join(req.workDir, 'dom0-ramdisk.cpio');
  const dom0Size = await appendArchive(files.dom0Ramdisk.path, dom0RamdiskPath, authorizedKeysArchive(key.publicKey));
  log(`dom0 ramdisk with the run's authorized_keys: ${dom0RamdiskPath} (${dom0Size} bytes)`);

  const passthroughDtbs: Record<string, number> = {};
  for (const p of draft.passthrough) {
    await compileDts(p.dts, p.dtsPath, p.dtbPath, 0);
    passthroughDtbs[p.domain] = (await stat(p.dtbPath)).size;
    log(`${p.domain} passthrough DT (virtio-pci, ${p.bridge.mode}): ${p.dtbPath}`);
  }

  const media = planBootMedia(req, { dom0Ramdisk: dom0Size, passthroughDtbs }, socketDir);
  const machineDts = await dumpMachineDts(media.shape, join(req.workDir, 'machine.dtb'), join(req.workDir, 'machine.dts'));
  const stdoutPath = stdoutPathOf(machineDts) ?? DEFAULT_STDOUT_PATH;
  const fragment = media.dtsFragment.replace(`stdout-path = "${DEFAULT_STDOUT_PATH}"`, `stdout-path = "${stdoutPath}"`);
  const dts = mergeFragment(machineDts, fragment);
  await compileDts(dts, join(req.workDir, 'xen.dts'), media.dtbPath);
  log(`device tree: ${media.dtbPath}`);

  let disks = media.disks;
  if (media.bootScript) {
    const { sourcePath, path, text } = media.bootScript;
    await writeFile(sourcePath, text);
    await run('mkimage', ['-A', 'arm64', '-O', 'linux', '-T', 'script', '-C', 'none', '-n', 'xen-pvh-virtio boot', '-d', sourcePath, path]);
    // Real sizes now that every file exists.
    disks = await Promise.all(
      media.disks.map(async (d) => {
        const real = await Promise.all(d.files.map(async (f) => ({ ...f, size: (await stat(f.source)).size })));
        return planBootDisk(d.path, real, d.partition.label);
      }),
    );
    for (const disk of disks) {
      await buildBootDisk(disk, req.workDir);
      log(`boot disk: ${disk.path} (${disk.files.map((f) => f.name).join(', ')})`);
    }
  }
  return { ...media, dtsFragment: fragment, dts, disks };
}

