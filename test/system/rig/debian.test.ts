// Builds (or reuses) the real debian rig in the default cache location, so later test
// files and CI runs reuse it, and checks what is inside without booting it.
import { cp, lstat, mkdir, mkdtemp, readFile, readdir, readlink, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, posix } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../../../src/host/exec.js';
import { sha256File } from '../../../src/rig/bundle.js';
import { READY_LINE, defaultCacheDir, obtainRig, rigFile, verifyRig, type ObtainedRig } from '../../../src/rig/index.js';
import { readElfNeeds } from '../../../src/rig/build/elf.js';
import { InfraError } from '../../../src/errors.js';

const lines: string[] = [];
const log = (line: string) => lines.push(line);
let first: ObtainedRig;
let scratch: string;

beforeAll(async () => {
  first = await obtainRig({ provider: 'debian' }, { cacheDir: defaultCacheDir(), log });
  scratch = await mkdtemp(join(tmpdir(), 'rig-test-'));
  // A cold cache builds the hypervisor (~15 s) and the backend QEMU (~2 min) first.
}, 2_700_000);

afterAll(async () => {
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

/** Unpacks one of the bundle's gzip'd cpio archives into a fresh directory with cpio itself. */
async function unpack(role: 'dom0-ramdisk' | 'domU-ramdisk'): Promise<string> {
  const dir = join(scratch, role);
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  const plain = join(scratch, `${role}.cpio`);
  await writeFile(plain, gunzipSync(await readFile(rigFile(first.rig, role))));
  await run('cpio', ['-i', '-d', '-m', '--quiet', '--no-absolute-filenames', '-F', plain], { cwd: dir });
  return dir;
}

async function listCpio(role: 'dom0-ramdisk' | 'domU-ramdisk'): Promise<Set<string>> {
  const plain = join(scratch, `${role}.list.cpio`);
  await writeFile(plain, gunzipSync(await readFile(rigFile(first.rig, role))));
  const { stdout } = await run('cpio', ['-t', '--quiet', '-F', plain]);
  return new Set(stdout.split('\n').filter(Boolean));
}

/** Follows symlinks inside the unpacked tree (absolute targets mean the tree's root, not the host's). */
async function resolveInTree(root: string, path: string, depth = 0): Promise<string | undefined> {
  if (depth > 20) return undefined;
  const parts = path.split('/').filter(Boolean);
  let at = '/';
  for (let i = 0; i < parts.length; i++) {
    const next = posix.join(at, parts[i]!);
    const st = await lstat(join(root, next)).catch(() => undefined);
    if (!st) return undefined;
    if (st.isSymbolicLink()) {
      const target = await readlink(join(root, next));
      const base = target.startsWith('/') ? target : posix.join(at, target);
      return resolveInTree(root, posix.join(base, ...parts.slice(i + 1)), depth + 1);
    }
    at = next;
  }
  return at;
}

async function walkFiles(root: string, rel = ''): Promise<string[]> {
  const out: string[] = [];
  for (const name of await readdir(join(root, rel))) {
    const path = posix.join(rel, name);
    const st = await lstat(join(root, path));
    if (st.isDirectory()) out.push(...(await walkFiles(root, path)));
    else if (st.isFile()) out.push(path);
  }
  return out;
}

/** Every ELF file's interpreter and NEEDED libraries, as aarch64 readelf reports them, must exist in the tree. */
async function unresolvedLibraries(root: string): Promise<string[]> {
  const problems: string[] = [];
  let elves = 0;
  for (const file of await walkFiles(root)) {
    const head = await readFile(join(root, file)).then((b) => b.subarray(0, 4));
    if (head.length < 4 || head.readUInt32BE(0) !== 0x7f454c46 || file.endsWith('.ko')) continue;
    elves++;
    const { stdout: dyn } = await run('readelf', ['-d', join(root, file)]);
    const needed = [...dyn.matchAll(/\(NEEDED\)\s+Shared library: \[([^\]]+)\]/g)].map((m) => m[1]!);
    const { stdout: phdrs } = await run('readelf', ['-l', join(root, file)]);
    const interp = /Requesting program interpreter: ([^\]]+)\]/.exec(phdrs)?.[1];
    if (interp && !(await resolveInTree(root, interp))) problems.push(`${file}: interpreter ${interp}`);
    for (const lib of needed) {
      const dirs = ['/lib/aarch64-linux-gnu', '/usr/lib/aarch64-linux-gnu', '/lib', '/usr/lib'];
      const found = await Promise.all(dirs.map((d) => resolveInTree(root, `${d}/${lib}`)));
      if (!found.some(Boolean)) problems.push(`${file}: ${lib}`);
    }
  }
  expect(elves).toBeGreaterThan(3);
  return problems;
}

describe('the debian rig bundle', () => {
  it('lists every role image/ needs, each with a matching sha256 and an origin', async () => {
    const { manifest } = first.rig;
    expect(manifest.provider).toBe('debian');
    expect(manifest.key).toBe(first.key);
    expect(first.rig.dir.endsWith(first.key)).toBe(true);
    const roles = manifest.files.map((f) => f.role).sort();
    expect(roles).toEqual(['backend-qemu', 'dom0-ramdisk', 'domU-ramdisk', 'kernel', 'uboot', 'xen-config', 'xen-efi', 'xen-image']);
    for (const f of manifest.files) {
      expect(await sha256File(join(first.rig.dir, f.path))).toBe(f.sha256);
      expect(f.origin.built ?? `${f.origin.package}=${f.origin.version}`).toMatch(/\S+=\S+/);
    }
    expect(manifest.versions.xen).toMatch(/^4\.17\./);
    expect(manifest.versions['xen-tools']).toBe(manifest.versions.xen);
    expect(manifest.versions.linux).toMatch(/^6\.1\./);
    expect([...manifest.capabilities].sort()).toEqual(['dom0less', 'ioreq', 'qemu-xenpvh-pci', 'ssh', 'trap-unmapped-accesses', 'vpl011', 'xen-tools']);
    await verifyRig(first.rig);
  });

  it('ships an uncompressed arm64 Image and a Xen whose image and .efi are the same bytes', async () => {
    const image = await readFile(rigFile(first.rig, 'kernel'));
    expect(image.toString('latin1', 0x38, 0x3c)).toBe('ARM\x64');
    expect(await sha256File(rigFile(first.rig, 'xen-efi'))).toBe(await sha256File(rigFile(first.rig, 'xen-image')));
    expect(await readFile(rigFile(first.rig, 'xen-config'), 'utf8')).toMatch(/CONFIG_ARM_64=y/);
  });

  it('names the damaged file when a byte changes or a file goes missing', async () => {
    const copy = join(scratch, 'damaged');
    await cp(first.rig.dir, copy, { recursive: true });
    const victim = join(copy, 'domU-rootfs.cpio.gz');
    const bytes = await readFile(victim);
    bytes[bytes.length >> 1]! ^= 0xff;
    await writeFile(victim, bytes);
    await rm(join(copy, 'u-boot.bin'));
    const damaged = { dir: copy, manifest: first.rig.manifest };
    await expect(verifyRig(damaged)).rejects.toThrow(InfraError);
    await expect(verifyRig(damaged)).rejects.toThrow(/domU-rootfs\.cpio\.gz \(domU-ramdisk\) has sha256/);
    await expect(verifyRig(damaged)).rejects.toThrow(/u-boot\.bin \(uboot\) is missing/);
  }, 120_000);

  it('is a cache hit the second time, with the same key and directory', async () => {
    const again = await obtainRig({ provider: 'debian' }, { cacheDir: defaultCacheDir(), log });
    expect(again.cacheHit).toBe(true);
    expect(again.key).toBe(first.key);
    expect(again.rig.dir).toBe(first.rig.dir);
  }, 300_000);

  it('gives rigFile absolute paths and an InfraError for a role the rig lacks', () => {
    expect(rigFile(first.rig, 'kernel')).toBe(join(first.rig.dir, 'Image'));
    expect(() => rigFile(first.rig, 'dom0-rootfs')).toThrow(/has no dom0-rootfs file/);
  });
});

describe('the dom0 ramdisk', () => {
  it('holds busybox, dropbear, the Xen tools, our init and the modules with a modules.dep', async () => {
    const paths = await listCpio('dom0-ramdisk');
    const release = first.rig.manifest.versions['linux-release']!;
    const mods = `usr/lib/modules/${release}`;
    for (const p of [
      'init',
      'bin',
      'lib',
      'sbin',
      'etc/inittab',
      'etc/xen-pvh-virtio/rc',
      'etc/profile',
      'etc/passwd',
      'root/.ssh',
      'usr/bin/busybox',
      'usr/bin/sh',
      'usr/sbin/dropbear',
      'usr/lib/xen-4.17/bin/xl',
      'usr/lib/xen-4.17/bin/xenstored',
      'usr/lib/xen-4.17/bin/xenconsoled',
      'usr/lib/xen-4.17/bin/xen-init-dom0',
      'usr/lib/xen-4.17/bin/init-dom0less',
      'usr/sbin/xl',
      'usr/bin/xenstore-read',
      'usr/lib/ld-linux-aarch64.so.1',
      'usr/lib/aarch64-linux-gnu/libxenlight.so.4.17',
      `${mods}/modules.dep`,
      `${mods}/kernel/drivers/xen/xenfs/xenfs.ko`,
      `${mods}/kernel/drivers/xen/xen-privcmd.ko`,
      `${mods}/kernel/drivers/net/virtio_net.ko`,
      `${mods}/kernel/net/core/failover.ko`,
    ]) {
      expect(paths, p).toContain(p);
    }
  }, 120_000);

  it("resolves every binary's loader and libraries inside the archive", async () => {
    const root = await unpack('dom0-ramdisk');
    expect(await unresolvedLibraries(root)).toEqual([]);
    const modulesDep = await readFile(join(root, `usr/lib/modules/${first.rig.manifest.versions['linux-release']}/modules.dep`), 'utf8');
    expect(modulesDep).toMatch(/^kernel\/drivers\/net\/virtio_net\.ko: .*net_failover\.ko.*failover\.ko/m);
    const rc = await readFile(join(root, 'etc/xen-pvh-virtio/rc'), 'utf8');
    expect(rc.split(READY_LINE.dom0).length).toBe(2);
    expect((await lstat(join(root, 'etc/xen-pvh-virtio/rc'))).mode & 0o111).not.toBe(0);
    expect((await lstat(join(root, 'root/.ssh'))).mode & 0o777).toBe(0o700);
    expect(await readFile(join(root, 'etc/profile'), 'utf8')).toContain("PS1='dom0# '");
  }, 300_000);

  it('agrees with aarch64 readelf about what xl needs', async () => {
    const root = join(scratch, 'dom0-ramdisk');
    const xl = join(root, 'usr/lib/xen-4.17/bin/xl');
    const ours = readElfNeeds(await readFile(xl));
    const { stdout } = await run('readelf', ['-d', xl]);
    expect(ours.needed).toEqual([...stdout.matchAll(/Shared library: \[([^\]]+)\]/g)].map((m) => m[1]));
    expect(ours.interpreter).toBe('/lib/ld-linux-aarch64.so.1');
  });
});

describe('the domU ramdisk', () => {
  it('holds busybox, lspci with pci.ids, our init and the virtio modules', async () => {
    const paths = await listCpio('domU-ramdisk');
    const mods = `usr/lib/modules/${first.rig.manifest.versions['linux-release']}`;
    for (const p of [
      'init',
      'etc/inittab',
      'etc/xen-pvh-virtio/rc',
      'usr/bin/busybox',
      'usr/bin/lspci',
      'usr/share/misc/pci.ids',
      `${mods}/modules.dep`,
      `${mods}/kernel/drivers/net/virtio_net.ko`,
      `${mods}/kernel/drivers/block/virtio_blk.ko`,
      `${mods}/kernel/drivers/virtio/virtio_pci.ko`,
    ]) {
      expect(paths, p).toContain(p);
    }
  }, 120_000);

  it("resolves lspci's loader and libraries inside the archive and names virtio-net in pci.ids", async () => {
    const root = await unpack('domU-ramdisk');
    expect(await unresolvedLibraries(root)).toEqual([]);
    expect(await readFile(join(root, 'usr/share/misc/pci.ids'), 'utf8')).toMatch(/^\t1000 {2}Virtio network device$/m);
    expect(await readFile(join(root, 'etc/xen-pvh-virtio/rc'), 'utf8')).toContain(READY_LINE.domU);
  }, 300_000);
});
