// The backend stack inside the debian rig: the hypervisor rebuilt from Debian's source with
// IOREQ and our trap-unmapped-accesses patch, and the Xen-enabled QEMU in dom0 with exactly
// the libraries it needs. Uses the real rig from the default cache (built on a cold cache).
import { lstat, mkdir, mkdtemp, readFile, readlink, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, posix } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../../../src/host/exec.js';
import { findCommand } from '../../../src/host/prerequisites.js';
import { sha256File } from '../../../src/rig/bundle.js';
import { xenPropertyCapabilities } from '../../../src/rig/capabilities.js';
import { componentDir, findComponent } from '../../../src/rig/build/component.js';
import { planDebianRig } from '../../../src/rig/debian/build.js';
import { defaultCacheDir, obtainRig, rigFile, type ObtainedRig } from '../../../src/rig/index.js';

const QEMU = 'usr/bin/qemu-system-aarch64';
const haveQemuUser = (await findCommand('qemu-aarch64')) !== undefined;
const cacheDir = defaultCacheDir();
let rig: ObtainedRig;
let scratch: string;
let dom0: string;

beforeAll(async () => {
  rig = await obtainRig({ provider: 'debian' }, { cacheDir, log: () => {} });
  scratch = await mkdtemp(join(tmpdir(), 'rig-backend-test-'));
  dom0 = join(scratch, 'dom0');
  await mkdir(dom0);
  const plain = join(scratch, 'dom0.cpio');
  await writeFile(plain, gunzipSync(await readFile(rigFile(rig.rig, 'dom0-ramdisk'))));
  await run('cpio', ['-i', '-d', '-m', '--quiet', '--no-absolute-filenames', '-F', plain], { cwd: dom0 });
}, 2_700_000);

afterAll(async () => {
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

/** A path inside the unpacked tree with its symlinks followed inside the tree, or undefined. */
async function inTree(root: string, path: string, depth = 0): Promise<string | undefined> {
  if (depth > 20) return undefined;
  const parts = path.split('/').filter(Boolean);
  let at = '/';
  for (let i = 0; i < parts.length; i++) {
    const next = posix.join(at, parts[i]!);
    const st = await lstat(join(root, next)).catch(() => undefined);
    if (!st) return undefined;
    if (st.isSymbolicLink()) {
      const target = await readlink(join(root, next));
      return inTree(root, posix.join(target.startsWith('/') ? target : posix.join(at, target), ...parts.slice(i + 1)), depth + 1);
    }
    at = next;
  }
  return at;
}

/** Every library (and the loader) a file needs, transitively, as readelf sees it, resolved in the tree. */
async function closure(root: string, file: string, seen = new Map<string, string | undefined>()): Promise<Map<string, string | undefined>> {
  const { stdout: dyn } = await run('readelf', ['-d', join(root, file)]);
  const { stdout: phdrs } = await run('readelf', ['-l', join(root, file)]);
  const interp = /Requesting program interpreter: ([^\]]+)\]/.exec(phdrs)?.[1];
  if (interp && !seen.has(interp)) seen.set(interp, await inTree(root, interp));
  for (const lib of [...dyn.matchAll(/\(NEEDED\)\s+Shared library: \[([^\]]+)\]/g)].map((m) => m[1]!)) {
    if (seen.has(lib)) continue;
    let found: string | undefined;
    for (const dir of ['/lib/aarch64-linux-gnu', '/usr/lib/aarch64-linux-gnu', '/lib', '/usr/lib']) {
      found = await inTree(root, `${dir}/${lib}`);
      if (found) break;
    }
    seen.set(lib, found);
    if (found) await closure(root, found.slice(1), seen);
  }
  return seen;
}

describe('the backend stack in the debian rig', () => {
  it('says ioreq, trap-unmapped-accesses and qemu-xenpvh-pci, but not virtio-grants', () => {
    const caps = rig.rig.manifest.capabilities;
    for (const c of ['ioreq', 'trap-unmapped-accesses', 'qemu-xenpvh-pci'] as const) expect(caps).toContain(c);
    expect(caps).not.toContain('virtio-grants');
    expect(rig.rig.manifest.notes.join('\n')).toMatch(/predates Debian's later 4\.17 security updates/);
    expect(rig.rig.manifest.versions.qemu).toMatch(/^1:10\.0\./);
  });

  it('has a hypervisor config with IOREQ and records the source, version and patch in the origin', async () => {
    const config = await readFile(rigFile(rig.rig, 'xen-config'), 'utf8');
    expect(config).toMatch(/^CONFIG_IOREQ_SERVER=y$/m);
    expect(config).toMatch(/^CONFIG_EXPERT=y$/m);
    const image = rig.rig.manifest.files.find((f) => f.role === 'xen-image')!;
    expect(image.origin.version).toBe(rig.rig.manifest.versions.xen);
    expect(image.origin.built).toMatch(/from Debian source xen=4\.17\.\S+ .*CONFIG_IOREQ_SERVER=y/);
    expect(image.origin.patches).toEqual([
      { file: '0001-xen-arm-dom0less-trap-unmapped-accesses.patch', from: 'ours', sha256: expect.stringMatching(/^[0-9a-f]{64}$/) },
      { file: '0002-tools-init-dom0less-write-cpu-availability-for-every-vcpu.patch', from: 'ours', sha256: expect.stringMatching(/^[0-9a-f]{64}$/) },
    ]);
    expect(image.origin.built).toContain('0001-xen-arm-dom0less-trap-unmapped-accesses.patch');
    // The property name is compiled into the hypervisor only when our patch is in; Debian's
    // Xen has no dom0less virtio-pci property, so our partial DT describes its bridges.
    const { stdout } = await run('grep', ['-c', 'trap-unmapped-accesses', rigFile(rig.rig, 'xen-image')], { allowFailure: true });
    expect(Number(stdout.trim())).toBeGreaterThan(0);
    const caps = xenPropertyCapabilities(await readFile(rigFile(rig.rig, 'xen-image')));
    expect(caps).toEqual(['dom0less', 'vpl011', 'trap-unmapped-accesses']);
    expect(rig.rig.manifest.capabilities).not.toContain('dom0less-virtio-pci');
  });

  it("gives dom0 our init-dom0less, built with the 0002 fix, not Debian's", async () => {
    const program = await readFile(join(dom0, 'usr/lib/xen-4.17/bin/init-dom0less'));
    // Debian's writes the path with a trailing '/', which xenstored refuses for any domU of two vCPUs.
    expect(program.includes(Buffer.from('cpu/%u/availability\0'))).toBe(true);
    expect(program.includes(Buffer.from('cpu/%u/availability/'))).toBe(false);
  });

  it('installs the backend QEMU in dom0 as /usr/bin/qemu-system-aarch64, the same bytes as the backend-qemu file', async () => {
    expect(await sha256File(join(dom0, QEMU))).toBe(await sha256File(rigFile(rig.rig, 'backend-qemu')));
    expect((await lstat(join(dom0, QEMU))).mode & 0o111).not.toBe(0);
    const origin = rig.rig.manifest.files.find((f) => f.role === 'backend-qemu')!.origin;
    expect(origin.built).toMatch(/--enable-xen .*--disable-tcg/);
    expect(origin.version).toBe(rig.rig.manifest.versions.qemu);
  });

  it('resolves every library the backend QEMU needs inside the dom0 tree', async () => {
    const libs = await closure(dom0, QEMU);
    const unresolved = [...libs].filter(([, at]) => !at).map(([lib]) => lib);
    expect(unresolved).toEqual([]);
    for (const lib of ['libxenctrl.so.4.17', 'libxenforeignmemory.so.1', 'libxendevicemodel.so.1', 'libglib-2.0.so.0', 'libgio-2.0.so.0', 'libslirp.so.0', 'libfdt.so.1']) {
      expect([...libs.keys()], lib).toContain(lib);
    }
  }, 120_000);

  it.skipIf(!haveQemuUser)('offers the xenpvh machine with the PCI options under qemu-user', async () => {
    const { stdout, stderr } = await run('qemu-aarch64', ['-L', dom0, join(dom0, QEMU), '-M', 'xenpvh,help']);
    const text = stdout + stderr;
    for (const option of ['pci-ecam-base', 'pci-ecam-size', 'pci-mmio-base', 'pci-mmio-high-base', 'pci-intx-irq-base']) {
      expect(text, option).toContain(option);
    }
    const devices = await run('qemu-aarch64', ['-L', dom0, join(dom0, QEMU), '-device', 'help']);
    expect(devices.stdout + devices.stderr).toMatch(/virtio-net-pci/);
  }, 120_000);

  it('keeps each component in its own cache folder with its build logs', async () => {
    const plan = await planDebianRig(cacheDir, { provider: 'debian' }, () => {});
    for (const [name, key] of [['xen', plan.xen.key], ['qemu', plan.qemu.key]] as const) {
      const component = await findComponent(cacheDir, name, key);
      expect(component?.dir, name).toBe(componentDir(cacheDir, name, key));
      expect(await readFile(join(component!.dir, 'logs', 'build.log'), 'utf8')).toMatch(/^\$ (make|ninja) /);
    }
    expect(plan.key).toBe(rig.key);
  });
});
