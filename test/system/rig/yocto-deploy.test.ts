// The yocto provider's output mapping, end to end: a deploy directory laid out the way Yocto
// lays out tmp/deploy/images/<machine> (dated files, the symlinks pointing at them, the files
// nobody boots), filled with the real debian rig's files (ramdisks repacked under Yocto's
// names), mapped into a bundle, and booted through boot-smoke as a prebuilt rig.
import { copyFile, mkdir, mkdtemp, readFile, rm, symlink, unlink, writeFile } from 'node:fs/promises';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../../src/errors.js';
import { run } from '../../../src/host/exec.js';
import { sha256File, writeManifest } from '../../../src/rig/bundle.js';
import { recipeKey } from '../../../src/rig/cache.js';
import { defaultCacheDir, findCachedRig, rigFile, type ObtainedRig } from '../../../src/rig/index.js';
import type { RigManifest } from '../../../src/rig/manifest.js';
import { mapDeployDir, type DeployMapping } from '../../../src/rig/yocto/deploy.js';
import { ROOT, startCli } from '../../support/cli.js';
import { validateJunit } from '../../support/junit.js';

const TS = '20251126031500';
const MACHINE = 'qemuarm64';
let debian: ObtainedRig;
let scratch: string;
let deploy: string;
let mapping: DeployMapping;

/** A file the way Yocto deploys it: the dated name holds the bytes, the stable names link to it. */
async function deployed(real: string, bytes: Buffer, ...links: string[]): Promise<void> {
  await writeFile(join(deploy, real), bytes);
  for (const link of links) await symlink(real, join(deploy, link));
}

beforeAll(async () => {
  const found = await findCachedRig({ provider: 'debian' }, { cacheDir: defaultCacheDir(), log: () => undefined });
  if (!found) throw new Error('the debian rig is not cached: vitest global setup should have built it');
  debian = found;
  scratch = await mkdtemp(join(tmpdir(), 'yocto-deploy-'));
  deploy = join(scratch, 'build/tmp/deploy/images', MACHINE);
  await mkdir(deploy, { recursive: true });
  const bytes = (role: Parameters<typeof rigFile>[1]) => readFile(rigFile(debian.rig, role));
  // Recompressed with gzip as Yocto's image_types does (-9 -n --rsyncable): the same archive in other bytes.
  const repack = async (role: 'dom0-ramdisk' | 'domU-ramdisk') => {
    const r = spawnSync('gzip', ['-9', '-n', '-c', '--rsyncable'], { input: gunzipSync(await bytes(role)), maxBuffer: 1 << 30 });
    if (r.status !== 0) throw new Error(`gzip failed: ${r.stderr.toString()}`);
    return r.stdout;
  };

  await deployed(`Image--6.1.0+git-r0-${MACHINE}-${TS}.bin`, await bytes('kernel'), 'Image', `Image-${MACHINE}.bin`);
  await writeFile(join(deploy, `modules--6.1.0+git-r0-${MACHINE}-${TS}.tgz`), gzipSync(Buffer.alloc(512)));
  await symlink(`modules--6.1.0+git-r0-${MACHINE}-${TS}.tgz`, join(deploy, `modules-${MACHINE}.tgz`));
  // meta-virtualization deploys the hypervisor and its configuration under the machine's name.
  await writeFile(join(deploy, `xen-${MACHINE}`), await bytes('xen-image'));
  await writeFile(join(deploy, `xen-${MACHINE}.cfg`), await bytes('xen-config'));
  await deployed(`xen-image-minimal-${MACHINE}.rootfs-${TS}.cpio.gz`, await repack('dom0-ramdisk'), `xen-image-minimal-${MACHINE}.rootfs.cpio.gz`);
  const tree = join(scratch, 'ext4-tree');
  await mkdir(join(tree, 'etc'), { recursive: true });
  await writeFile(join(tree, 'etc/hostname'), `${MACHINE}\n`);
  const ext4 = join(scratch, 'rootfs.ext4');
  await run('mke2fs', ['-q', '-F', '-t', 'ext4', '-d', tree, ext4, '8M']);
  await deployed(`xen-image-minimal-${MACHINE}.rootfs-${TS}.ext4`, await readFile(ext4), `xen-image-minimal-${MACHINE}.rootfs.ext4`);
  await deployed(`xen-image-minimal-${MACHINE}.rootfs-${TS}.manifest`, Buffer.from('busybox cortexa57 1.36.1-r0\nkernel-6.1.0-yocto-standard qemuarm64 6.1.55+git0+a1b2c3-r0\nxen-tools-xl cortexa57 4.17.5+stable0+deadbeef-r0\n'), `xen-image-minimal-${MACHINE}.rootfs.manifest`);
  await writeFile(join(deploy, `xen-image-minimal-${MACHINE}.rootfs.qemuboot.conf`), '[config_bsp]\nqb_machine = -machine virt\n');
  await deployed(`core-image-minimal-${MACHINE}.rootfs-${TS}.cpio.gz`, await repack('domU-ramdisk'), `core-image-minimal-${MACHINE}.rootfs.cpio.gz`);
  await deployed(`u-boot-${MACHINE}-2023.01-r0.bin`, await bytes('uboot'), 'u-boot.bin', `u-boot-${MACHINE}.bin`);

  mapping = {
    deployDir: deploy,
    machine: MACHINE,
    dom0Image: 'xen-image-minimal',
    domUImage: 'core-image-minimal',
    // Stands in for the SDK-built device model (no SDK here): the debian rig's own cross-built QEMU.
    backendQemu: { path: rigFile(debian.rig, 'backend-qemu'), origin: { built: "the debian rig's backend QEMU, standing in for the SDK build" } },
    key: recipeKey({ test: 'yocto-deploy', debian: debian.key }),
  };
}, 300_000);

afterAll(async () => {
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

async function mapInto(name: string, m: DeployMapping = mapping): Promise<{ dir: string; manifest: RigManifest }> {
  const dir = join(scratch, name);
  await mkdir(dir);
  const manifest = await mapDeployDir(m, dir);
  await writeManifest(dir, manifest);
  return { dir, manifest };
}

describe('a Yocto deploy directory mapped into a rig', () => {
  let bundle: { dir: string; manifest: RigManifest };
  beforeAll(async () => {
    bundle = await mapInto('bundle');
  });

  it('finds every role through Yocto’s link names and records where each file came from', async () => {
    const byRole = Object.fromEntries(bundle.manifest.files.map((f) => [f.role, f]));
    expect(Object.keys(byRole).sort()).toEqual(['backend-qemu', 'dom0-ramdisk', 'dom0-rootfs', 'domU-ramdisk', 'kernel', 'uboot', 'xen-config', 'xen-efi', 'xen-image']);
    expect(byRole['dom0-ramdisk']!.origin.built).toBe(
      `Yocto deploy ${deploy}: xen-image-minimal-${MACHINE}.rootfs.cpio.gz → xen-image-minimal-${MACHINE}.rootfs-${TS}.cpio.gz`,
    );
    expect(byRole.kernel!.origin.built).toBe(`Yocto deploy ${deploy}: Image → Image--6.1.0+git-r0-${MACHINE}-${TS}.bin`);
    expect(byRole['xen-efi']!.origin.built).toBe(`Yocto deploy ${deploy}: xen-${MACHINE}`);
    for (const f of bundle.manifest.files) {
      expect(await sha256File(join(bundle.dir, f.path)), f.path).toBe(f.sha256);
    }
    // The repacked ramdisk is the deployed file, not the debian one it was made from.
    expect(byRole['dom0-ramdisk']!.sha256).toBe(await sha256File(join(deploy, `xen-image-minimal-${MACHINE}.rootfs-${TS}.cpio.gz`)));
    expect(byRole['dom0-ramdisk']!.sha256).not.toBe(debian.rig.manifest.files.find((f) => f.role === 'dom0-ramdisk')!.sha256);
    expect(bundle.manifest.provider).toBe('yocto');
    // Versions are for the report only, read from the dom0 image's package manifest.
    expect(bundle.manifest.versions).toEqual({ busybox: '1.36.1-r0', linux: '6.1.55+git0+a1b2c3-r0', 'xen-tools': '4.17.5+stable0+deadbeef-r0' });
  });

  it('detects the same capabilities from the files that the debian provider knew from its build', () => {
    expect([...bundle.manifest.capabilities].sort()).toEqual([...debian.rig.manifest.capabilities].sort());
  });

  it('claims only what the files show when the Xen config or the QEMU build is absent', async () => {
    await unlink(join(deploy, `xen-${MACHINE}.cfg`));
    try {
      const { manifest } = await mapInto('no-config', { ...mapping, backendQemu: undefined });
      expect(manifest.capabilities).not.toContain('ioreq');
      expect(manifest.capabilities).not.toContain('qemu-xenpvh-pci');
      expect(manifest.capabilities).toContain('trap-unmapped-accesses');
      expect(manifest.notes.join('\n')).toMatch(/No Xen \.config was deployed/);
      expect(manifest.files.map((f) => f.role)).not.toContain('backend-qemu');
    } finally {
      await copyFile(rigFile(debian.rig, 'xen-config'), join(deploy, `xen-${MACHINE}.cfg`));
    }
  });

  it('names the missing domU cpio.gz and how to get it', async () => {
    const other = { ...mapping, domUImage: 'core-image-full-cmdline' };
    const dir = join(scratch, 'no-domu');
    await mkdir(dir);
    await expect(mapDeployDir(other, dir)).rejects.toThrow(ConfigError);
    await expect(mapDeployDir(other, dir)).rejects.toThrow(
      `Yocto deploy directory ${deploy} has no core-image-full-cmdline ramdisk (looked for core-image-full-cmdline-${MACHINE}.rootfs.cpio.gz, core-image-full-cmdline-${MACHINE}.cpio.gz); add cpio.gz to IMAGE_FSTYPES`,
    );
    await expect(mapDeployDir({ ...mapping, deployDir: join(scratch, 'nowhere') }, dir)).rejects.toThrow(/nowhere does not exist: did the kas build finish\?/);
  });

  it('boots through boot-smoke as a prebuilt rig', { timeout: 10 * 60_000 }, async () => {
    const run = startCli(['run', 'boot-smoke', '--rig', 'prebuilt', '--rig-path', bundle.dir, '--cache-dir', join(scratch, 'cache')]);
    const { code } = await run.done;
    expect(code, run.stderr()).toBe(0);
    const xml = await readFile(run.junitPath, 'utf8');
    validateJunit(xml);
    expect(xml).toMatch(/<testsuite name="boot-smoke" [^\n]* tests="6" failures="0" errors="0" skipped="0"/);
    expect(xml).toContain('domU1# uname -m\naarch64');
  });
});

describe('--rig yocto on a host without kas', () => {
  // Only PATH directories without a kas in them: the test means "kas is missing" wherever it runs.
  const path = (process.env.PATH ?? '').split(':').filter((d) => d && spawnSync('test', ['-x', join(d, 'kas')]).status !== 0).join(':');
  const cli = (args: string[], cwd: string) => spawnSync(process.execPath, [join(ROOT, 'dist/cli.js'), 'rig', 'build', '--rig', 'yocto', ...args], { cwd, env: { ...process.env, PATH: path }, encoding: 'utf8', timeout: 60_000 });

  it('says kas is missing, at once', async () => {
    const dir = join(scratch, 'yoxen');
    await mkdir(join(dir, 'kas'), { recursive: true });
    await writeFile(join(dir, 'kas/yoxen-arm64.yml'), 'header:\n  version: 14\nmachine: qemuarm64\n');
    const started = Date.now();
    const r = cli(['--cache-dir', join(scratch, 'kas-cache')], dir);
    expect(r.status, r.stderr).toBe(3);
    expect(r.stderr).toContain('infrastructure error: rig yocto needs kas, which is not installed on this host');
    expect(Date.now() - started).toBeLessThan(30_000);
  });

  it('names --kas-file when there is no kas file', async () => {
    const r = cli(['--cache-dir', join(scratch, 'kas-cache')], scratch);
    expect(r.status, r.stderr).toBe(2);
    expect(r.stderr).toContain(`error: --kas-file (default kas/yoxen-arm64.yml, in a yoxen checkout): cannot read kas file ${join(scratch, 'kas/yoxen-arm64.yml')}`);
  });
});
