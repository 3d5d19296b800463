// buildBootMedia with real tools: QEMU's DT dump, dtc, mkimage, mke2fs, sfdisk, debugfs, cpio.
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../../../src/host/exec.js';
import { buildBootMedia, describeBootMedia, planBootMedia, type BootMedia } from '../../../src/image/index.js';
import type { DomainSpec } from '../../../src/config/types.js';
import type { Rig } from '../../../src/rig/manifest.js';
import { syntheticRig, TWO_DOMUS } from '../../support/synthetic-rig.js';

let rig: Rig;
let work: string;
beforeAll(async () => {
  rig = await syntheticRig();
  work = await mkdtemp(join(tmpdir(), 'xpv-media-'));
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
  await rm(rig.dir, { recursive: true, force: true });
});

async function decompile(dtb: string): Promise<string> {
  return (await run('dtc', ['-q', '-I', 'dtb', '-O', 'dts', dtb])).stdout;
}

/** The body of the first node whose name line matches, up to its closing brace. */
function node(dts: string, name: string): string {
  const start = dts.search(new RegExp(`\\n\\s*${name} \\{`));
  expect(start, `node ${name}`).toBeGreaterThanOrEqual(0);
  let depth = 0;
  for (let i = dts.indexOf('{', start); i < dts.length; i++) {
    if (dts[i] === '{') depth++;
    if (dts[i] === '}' && --depth === 0) return dts.slice(start, i + 1);
  }
  throw new Error(`unterminated node ${name}`);
}

describe('u-boot path', () => {
  let media: BootMedia;
  let dir: string;
  beforeAll(async () => {
    dir = join(work, 'uboot');
    media = await buildBootMedia({ rig, domains: TWO_DOMUS, boot: 'uboot', workDir: dir, sshPort: 2222 });
  }, 60_000);

  it('compiles a DT that holds the dom0less /chosen for two domUs', async () => {
    const dts = await decompile(media.dtbPath);
    const chosen = node(dts, 'chosen');
    expect(chosen).toContain('xen,xen-bootargs = "dom0_mem=1024M bootscrub=0";');
    expect(chosen).toContain('xen,dom0-bootargs = "console=hvc0 earlycon=xenboot";');
    expect(chosen).toContain('stdout-path = "/pl011@9000000";');
    expect(chosen).toMatch(/#address-cells = <0x0?2>;/);
    expect(node(chosen, 'module-kernel')).toContain('xen,uefi-binary = "Image";');
    expect(node(chosen, 'module-ramdisk')).toContain('xen,uefi-binary = "dom0-ramdisk";');
    const d1 = node(chosen, 'domU1');
    expect(d1).toContain('compatible = "xen,domain";');
    expect(d1).toMatch(/memory = <0x00 0x40000>;|memory = <0x0 0x40000>;/);
    expect(d1).toMatch(/cpus = <0x0?1>;/);
    expect(d1).toContain('vpl011;');
    expect(d1).toContain('bootargs = "console=ttyAMA0";');
    const d2 = node(chosen, 'domU2');
    expect(d2).toMatch(/memory = <0x0?0 0x60000>;/);
    expect(d2).toMatch(/cpus = <0x0?2>;/);
    expect(d2).not.toContain('vpl011');
    expect(d2).toContain('bootargs = "console=hvc0 quiet";');
    expect(node(d2, 'module-ramdisk')).toContain('xen,uefi-binary = "domU-ramdisk";');
  });

  it('dumps the DT with -bios, so it lists no pl061 GPIO (docs/rig-facts.md)', async () => {
    expect(media.shape.bios).toMatch(/u-boot\.bin$/);
    expect(await decompile(media.dtbPath)).not.toContain('pl061@');
  });

  it('makes a boot.scr that mkimage lists as a script loading xen.efi last', async () => {
    const listed = (await run('mkimage', ['-l', media.bootScript!.path])).stdout;
    expect(listed).toMatch(/Image Type:\s+AArch64 Linux Script/);
    const text = media.bootScript!.text.split('\n');
    const loads = text.filter((l) => l.startsWith('load '));
    expect(loads.at(-1)).toBe('load virtio 0:1 ${kernel_addr} xen.efi');
    expect(text).toContain('bootefi ${kernel_addr} ${fdt_addr}');
  });

  it('writes a partitioned disk whose ext4 partition holds the boot files', async () => {
    const disk = media.disks[0]!;
    const table = JSON.parse((await run('sfdisk', ['--json', disk.path])).stdout) as {
      partitiontable: { label: string; partitions: Array<{ start: number; size: number; type: string; bootable?: boolean }> };
    };
    expect(table.partitiontable.label).toBe('dos');
    const p = table.partitiontable.partitions[0]!;
    expect(p).toMatchObject({ start: 2048, type: '83', bootable: true });

    const whole = await readFile(disk.path);
    const part = join(dir, 'partition.ext4');
    await writeFile(part, whole.subarray(p.start * 512, (p.start + p.size) * 512));
    const ls = (await run('debugfs', ['-R', 'ls -l /', part])).stdout;
    for (const name of ['xen.efi', 'Image', 'xen.dtb', 'boot.scr', 'dom0-ramdisk', 'domU-ramdisk']) expect(ls).toContain(name);

    const out = join(dir, 'dumped.dtb');
    await run('debugfs', ['-R', `dump /xen.dtb ${out}`, part]);
    expect((await readFile(out)).equals(await readFile(media.dtbPath))).toBe(true);
    await run('debugfs', ['-R', `dump /Image ${out}`, part]);
    expect((await stat(out)).size).toBe(rig.manifest.files.find((f) => f.role === 'kernel')!.size);
  });

  it("appends a cpio carrying the run's public key to dom0's ramdisk", async () => {
    const original = await readFile(join(rig.dir, 'dom0.cpio.gz'));
    const ramdisk = await readFile(media.dom0RamdiskPath);
    expect(ramdisk.subarray(0, original.length).equals(original)).toBe(true);
    const appended = gunzipSync(ramdisk.subarray(Math.ceil(original.length / 4) * 4));
    const out = join(dir, 'unpacked');
    await run('mkdir', ['-p', out]);
    const listing = await run('cpio', ['-idv', '--no-absolute-filenames'], { cwd: out, input: appended });
    expect(listing.stderr).toContain('root/.ssh/authorized_keys');
    const pub = await readFile(media.sshKey.publicKeyPath, 'utf8');
    expect(await readFile(join(out, 'root/.ssh/authorized_keys'), 'utf8')).toBe(pub);
    const modes = (await run('cpio', ['-tv'], { input: appended })).stdout;
    expect(modes).toMatch(/-rw------- .* root\/\.ssh\/authorized_keys/);
    expect(modes).toMatch(/drwx------ .* root\/\.ssh/);
  });

  it('writes an OpenSSH ed25519 key pair, private half 0600', async () => {
    const st = await stat(media.sshKey.privateKeyPath);
    expect(st.mode & 0o777).toBe(0o600);
    const derived = (await run('ssh-keygen', ['-y', '-f', media.sshKey.privateKeyPath])).stdout.trim();
    const pub = (await readFile(media.sshKey.publicKeyPath, 'utf8')).trim();
    expect(pub.startsWith(derived)).toBe(true);
    expect(derived).toMatch(/^ssh-ed25519 /);
  });

  it('boots from the disk through u-boot, with serial and QMP on sockets', () => {
    const args = media.launch.args;
    expect(args).toContain('-bios');
    expect(args.join(' ')).toContain(`file=${media.disks[0]!.path},format=raw`);
    expect(args).not.toContain('-kernel');
    expect(args.join(' ')).not.toContain('mon:stdio');
  });
});

describe('direct path', () => {
  let media: BootMedia;
  beforeAll(async () => {
    media = await buildBootMedia({ rig, domains: TWO_DOMUS, boot: 'direct', workDir: join(work, 'direct'), sshPort: 2222 });
  }, 60_000);

  it('gives every module a reg that matches where QEMU loads it', async () => {
    const dts = await decompile(media.dtbPath);
    expect(media.placements.map((p) => `${p.domain} ${p.kind}`)).toEqual([
      'dom0 kernel', 'dom0 ramdisk', 'domU1 kernel', 'domU1 ramdisk', 'domU2 kernel', 'domU2 ramdisk',
    ]);
    const args = media.launch.args.join(' ');
    for (const p of media.placements) {
      const addr = p.addr.toString(16);
      expect(dts).toMatch(new RegExp(`module@${addr} \\{[^}]*reg = <0x0?0 0x${addr} 0x0?0 0x${p.size.toString(16)}>`));
      expect(args).toContain(`loader,file=${p.file},addr=0x${addr},force-raw=on`);
    }
    expect((await stat(media.dom0RamdiskPath)).size).toBe(media.placements[1]!.size);
    expect(media.launch.args).toContain('-kernel');
    expect(media.shape.bios).toBeUndefined();
    // Without firmware QEMU keeps the pl061 GPIO: proof the dump follows the boot's options.
    expect(dts).toContain('pl061@');
    expect(media.disks).toEqual([]);
  });
});

describe('planBootMedia', () => {
  it('plans without writing anything, and prints the DTS fragment, script, disk and command line', async () => {
    const where = join(work, 'never-written');
    const plan = planBootMedia({ rig, domains: TWO_DOMUS, boot: 'uboot', workDir: where, sshPort: 0 });
    await expect(stat(where)).rejects.toThrow();
    const text = describeBootMedia(plan);
    expect(text).toContain('domU2 {');
    expect(text).toContain('bootefi ${kernel_addr} ${fdt_addr}');
    expect(text).toMatch(/partition 1: start sector 2048/);
    expect(text).toContain('-machine virt,gic-version=3,virtualization=true,its=off');
    expect(text).toContain('127.0.0.1:<free port>');
    const direct = describeBootMedia(planBootMedia({ rig, domains: TWO_DOMUS, boot: 'direct', workDir: where, sshPort: 2222 }));
    expect(direct).toMatch(/0x50000000 +\d+ bytes {2}dom0 kernel/);
  });

  it('rejects a malformed spec before any tool runs', async () => {
    const bad = [{ ...TWO_DOMUS[0]!, cpus: 4 }];
    await expect(buildBootMedia({ rig, domains: bad, boot: 'uboot', workDir: join(work, 'bad'), sshPort: 0 })).rejects.toThrow(
      /domain domU1: cpus 4 is more than the machine's 2/,
    );
    await expect(stat(join(work, 'bad'))).rejects.toThrow();
  });
});

describe('a domU with virtio-pci', () => {
  const domains: DomainSpec[] = [{ ...TWO_DOMUS[0]!, virtioPci: 'foreign' }, TWO_DOMUS[1]!];
  /** The same bundle, now claiming a Xen that honours trap-unmapped-accesses. */
  const trapRig = (): Rig => ({ ...rig, manifest: { ...rig.manifest, capabilities: [...rig.manifest.capabilities, 'trap-unmapped-accesses'] } });

  it('is refused on a rig whose Xen would let it panic probing the ECAM', () => {
    expect(() => planBootMedia({ rig, domains, boot: 'direct', workDir: join(work, 'no-trap'), sshPort: 0 })).toThrow(
      /^domain domU1: virtio-pci needs a Xen that parses the dom0less virtio-pci property or honours trap-unmapped-accesses; the prebuilt rig in .* has neither: the domU would take a data abort probing the ECAM at boot$/,
    );
  });

  it('puts pt-domU1.dtb on the boot disk and names it in a third module (u-boot path)', async () => {
    const dir = join(work, 'pci-uboot');
    const media = await buildBootMedia({ rig: trapRig(), domains, boot: 'uboot', workDir: dir, sshPort: 2222 });
    expect(media.passthrough.map((p) => [p.domain, p.file])).toEqual([['domU1', 'pt-domU1.dtb']]);
    const chosen = node(await decompile(media.dtbPath), 'chosen');
    const d1 = node(chosen, 'domU1');
    expect(d1).toMatch(/trap-unmapped-accesses = <0x0?0>;/);
    const module = node(d1, 'module-device-tree');
    expect(module).toMatch(/compatible = "multiboot,device-tree(", "|\\0)multiboot,module";/);
    expect(module).toContain('xen,uefi-binary = "pt-domU1.dtb";');
    const d2 = node(chosen, 'domU2');
    expect(d2).not.toContain('trap-unmapped-accesses');
    expect(d2).not.toContain('device-tree');

    const pt = await decompile(media.passthrough[0]!.dtbPath);
    expect(pt).toContain('pcie@f100000000 {');
    expect(pt).toContain('compatible = "pci-host-ecam-generic";');

    const disk = media.disks[0]!;
    const whole = await readFile(disk.path);
    const part = join(dir, 'partition.ext4');
    await writeFile(part, whole.subarray(disk.partition.startSector * 512, disk.sizeBytes));
    const out = join(dir, 'dumped-pt.dtb');
    await run('debugfs', ['-R', `dump /pt-domU1.dtb ${out}`, part]);
    expect((await readFile(out)).equals(await readFile(media.passthrough[0]!.dtbPath))).toBe(true);
  }, 60_000);

  it('loads pt-domU1.dtb with QEMU and gives Xen its address and exact size (direct path)', async () => {
    const media = await buildBootMedia({ rig: trapRig(), domains, boot: 'direct', workDir: join(work, 'pci-direct'), sshPort: 2222 });
    expect(media.placements.map((p) => `${p.domain} ${p.kind}`)).toEqual([
      'dom0 kernel', 'dom0 ramdisk', 'domU1 kernel', 'domU1 ramdisk', 'domU1 dtb', 'domU2 kernel', 'domU2 ramdisk',
    ]);
    const pt = media.placements.find((p) => p.kind === 'dtb')!;
    expect(pt.file).toBe(media.passthrough[0]!.dtbPath);
    expect(pt.size).toBe((await stat(pt.file)).size);
    const d1 = node(node(await decompile(media.dtbPath), 'chosen'), 'domU1');
    const addr = pt.addr.toString(16);
    const module = node(d1, `module@${addr}`);
    expect(module).toMatch(/compatible = "multiboot,device-tree(", "|\\0)multiboot,module";/);
    expect(module).toMatch(new RegExp(`reg = <0x0?0 0x${addr} 0x0?0 0x${pt.size.toString(16)}>`));
    expect(d1).toMatch(/trap-unmapped-accesses = <0x0?0>;/);
    expect(media.launch.args.join(' ')).toContain(`loader,file=${pt.file},addr=0x${addr},force-raw=on`);
  }, 60_000);

  it('shows pt.dts and the backend machine options in the plan', () => {
    const plan = planBootMedia({ rig: trapRig(), domains, boot: 'direct', workDir: join(work, 'never'), sshPort: 0 });
    const text = describeBootMedia(plan);
    expect(text).toContain('## Passthrough DT for domU1: pt-domU1.dtb');
    expect(text).toContain('pcie@f100000000 {');
    expect(text).toContain('interrupt-map = <0x0 0x0 0x0 0x1 &gic 0x0 0xc 0x4>,');
    expect(text).toContain('-M xenpvh,pci-ecam-base=0xf100000000,pci-ecam-size=0x10000000,');
    expect(text).toMatch(/domU1 dtb {2}.*pt-domU1\.dtb/);
  });
});
