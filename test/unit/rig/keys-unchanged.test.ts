// Rig keys and component keys are promises to users: a changed key rebuilds Xen and QEMU on
// every runner (minutes) and orphans every published bundle. These values were computed by the
// code as it stood before the provider contract and the shared build folder; a refactor must
// leave them exactly as they are. A deliberate change to a recipe updates them here, with a
// recipe version bump beside it.
//
// The private apt is stubbed with fixed package versions, so the keys depend on our code and
// nothing else (the real lists change whenever Debian publishes).
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { RigRequest } from '../../../src/config/types.js';
import { PrivateApt, type PackageVersion } from '../../../src/rig/debian/apt.js';
import { planDebianRig } from '../../../src/rig/debian/build.js';
import type { RigManifest } from '../../../src/rig/manifest.js';
import { prebuiltKey } from '../../../src/rig/prebuilt/index.js';
import { planSourceRig } from '../../../src/rig/source/build.js';
import { planYocto } from '../../../src/rig/yocto/plan.js';

/** Versions as bookworm and trixie named them when these keys were taken; the rest get 1.0-1. */
const VERSIONS: Record<string, string> = {
  'xen-hypervisor-4.17-arm64': '4.17.5+72-g01140da4e8-1',
  'xen-utils-4.17': '4.17.5+72-g01140da4e8-1',
  'gcc-12-aarch64-linux-gnu': '12.2.0-14cross1',
  'binutils-aarch64-linux-gnu': '2.40-2',
  'libc6-dev': '2.36-9+deb12u13',
};

const root = mkdtempSync(join(tmpdir(), 'rig-keys-'));
const cacheDir = join(root, 'cache');
const log = () => undefined;
/** A fixed place: the source rig's key names a local tree and the user's patches by the paths the user gave. */
const FIXED = '/tmp/xen-pvh-virtio-rig-keys-test';
const XEN_TREE = join(FIXED, 'xen');
const userPatch = join(FIXED, 'user.patch');

beforeAll(() => {
  vi.spyOn(PrivateApt.prototype, 'ensureLists').mockResolvedValue(undefined);
  vi.spyOn(PrivateApt.prototype, 'resolve').mockImplementation(async function (this: PrivateApt, packages: readonly string[]): Promise<PackageVersion[]> {
    return [...packages].sort().map((name) => ({ name, version: VERSIONS[name] ?? '1.0-1', arch: this.source.arch }));
  });
  vi.spyOn(PrivateApt.prototype, 'candidate').mockImplementation(async (name: string) => ({ name, version: '1.7.0-1', arch: 'all' }));
  vi.spyOn(PrivateApt.prototype, 'sourceVersion').mockResolvedValue('1:10.0.13+ds-0+deb13u1');
  vi.spyOn(PrivateApt.prototype, 'servedSourceVersion').mockResolvedValue({ version: '6.12.117-1', skipped: [] });

  rmSync(FIXED, { recursive: true, force: true });
  mkdirSync(join(XEN_TREE, 'xen'), { recursive: true });
  writeFileSync(userPatch, '--- a/README\n+++ b/README\n@@ -1 +1,2 @@\n Xen\n+patched\n');
  writeFileSync(join(XEN_TREE, 'README'), 'Xen\n');
  writeFileSync(join(XEN_TREE, 'xen', 'Makefile'), 'all:\n');
  chmodSync(join(XEN_TREE, 'README'), 0o644);
  chmodSync(join(XEN_TREE, 'xen', 'Makefile'), 0o644);
});

afterAll(() => {
  vi.restoreAllMocks();
  rmSync(root, { recursive: true, force: true });
  rmSync(FIXED, { recursive: true, force: true });
});

// The toolchain's key names the host architecture's compiler packages.
describe.runIf(process.arch === 'x64')('rig and component keys', () => {
  it('debian: the default rig, its components and its toolchain', async () => {
    const plan = await planDebianRig(cacheDir, { provider: 'debian' }, log);
    expect({ rig: plan.key, xen: plan.xen.key, qemu: plan.qemu.key, toolchain: plan.toolchain.key, linux: plan.linux?.key }).toEqual({
      rig: '36cefacc4747e47c7f204a35c7c1fd7ae9f08d8d765005b15bf550e7ab097345',
      xen: '3fdbb777060d2da0fc2e8eeb31e58170fea890c48eb174d7b9408a929165da33',
      qemu: '42fd54f839301e699485900c8523fa8dbf10a6f07e1005088440192a589a38df',
      toolchain: '06ea806accf1f65ed190b95fa730fea84b49b632a367a927fb202ef6d0be4617',
      linux: undefined,
    });
  });

  it("debian: kernel source and the user's patches", async () => {
    const plan = await planDebianRig(cacheDir, { provider: 'debian', kernel: 'source', xenPatches: [userPatch], qemuPatches: [userPatch] }, log);
    expect({ rig: plan.key, xen: plan.xen.key, qemu: plan.qemu.key, linux: plan.linux?.key }).toEqual({
      rig: '232a6934e435c3d65ac484f59e6f84bdf93321c381b46d984b6fae0dbcc3100b',
      xen: '478cb390332d3a4d58fb3f6dd3fcaccf233ea5f92cdf50b7e434e90a9e103490',
      qemu: '3b3b3a6414915d4c6b22bd6cf36f207239aacae4d21d7c4d43de7532ef6d8172',
      linux: 'fc1e5f0477637b81221f1f7faf51f07f051b2b39ba8a555f730f6ed514c0f8fe',
    });
  });

  it('source: git refs, with a kernel from a git ref', async () => {
    const request: RigRequest = {
      provider: 'source',
      xenRepo: 'https://example.org/xen.git',
      xenRef: 'a'.repeat(40),
      qemuRef: 'b'.repeat(40),
      kernel: 'source',
      linuxRepo: 'https://example.org/linux.git',
      linuxRef: 'c'.repeat(40),
    };
    const plan = await planSourceRig(cacheDir, request, log);
    expect({ rig: plan.key, xen: plan.xen.key, qemu: plan.qemu.key, linux: plan.linux?.key }).toEqual({
      rig: '88207ae95dbf0e18c0cfc10989c4be69d33313c82bf109f9e9c054ed5a66944d',
      xen: 'f5a3a6a1060dec64f257570350404213ad5cd566e0915e77718a2a5d568a5cb9',
      qemu: 'ea1ee695cd88ce9f9aced544df6c6aa1b65b013559181d48138849fe60bad111',
      linux: 'd8883c35e25624af19221eb3806d32dfeb05b9dd379557ce020400921768376c',
    });
  });

  it("source: a local Xen tree with the user's patch, Debian's kernel", async () => {
    const request: RigRequest = { provider: 'source', xenPath: XEN_TREE, xenPatches: [userPatch], qemuRef: 'd'.repeat(40) };
    const plan = await planSourceRig(cacheDir, request, log);
    expect({ rig: plan.key, xen: plan.xen.key, qemu: plan.qemu.key, linux: plan.linux?.key }).toEqual({
      rig: '4f06d4ff515a03b398d9096b4db22081d9c9ef99ea9a61e4a67fcea0610ccfe9',
      xen: '0ee69c73b0cd6a4607cd04f822eaa9ac9fd139596ec19394805fdc6216327abf',
      qemu: '11cf2370f188459bdb3302c513ca312c45a66b2af4318f989c103db8a1dc83e5',
      linux: undefined,
    });
  });

  it('yocto: the rig key and its cache slots', () => {
    const dir = join(root, 'yoxen');
    mkdirSync(join(dir, '.git'), { recursive: true });
    mkdirSync(join(dir, 'kas'));
    writeFileSync(
      join(dir, 'kas/common.yml'),
      'header:\n  version: 14\ndistro: poky\nrepos:\n  poky:\n    url: https://git.yoctoproject.org/poky\n    commit: 1111111111111111111111111111111111111111\n',
    );
    writeFileSync(join(dir, 'kas/yoxen-arm64.yml'), 'header:\n  version: 14\n  includes:\n    - kas/common.yml\nmachine: qemuarm64\ntarget: xen-image-minimal\n');
    const plan = planYocto({ provider: 'yocto', qemuPatches: ['/p/one.patch'] }, { cacheDir, cwd: dir, hostArch: 'x64' });
    expect({ rig: plan.key, ...Object.fromEntries(Object.entries(plan.caches).map(([name, slot]) => [name, slot.key])) }).toEqual({
      rig: '59a577733032c658174db42705bc38c32475c2f093abe302ee6d0635c7426a97',
      downloads: '12635a9658e68045e731e60851cabb53257a126a812283aad47a661266e573cb',
      sstate: '8d66f02c86839adab765c6b05cb578a517b050ab76ad04652f09b46d7ae72c0e',
      sdk: '9dbb89af77ec655128e596d00b8dc49c54a1d315bc514f758fc229c5861637be',
      qemu: 'b70227a30df3d2a14fdd64422d7b8bcdb8307adb5b29b525868775bd0b9bb5ee',
    });
  });

  it('prebuilt: the key derived from a manifest', () => {
    const manifest: RigManifest = {
      schemaVersion: 1,
      provider: 'debian',
      key: 'f'.repeat(64),
      createdAt: '2026-01-01T00:00:00.000Z',
      versions: { xen: '4.17.5' },
      files: [{ role: 'kernel', path: 'Image', sha256: 'e'.repeat(64), size: 1, origin: { package: 'linux-image-arm64', version: '6.1' } }],
      capabilities: ['dom0less', 'vpl011'],
      notes: [],
    };
    expect(prebuiltKey(manifest)).toBe('prebuilt-191e44a0affbfce9c7e64c48ddedb45c4aa01111432cb270669416f944fb08d9');
  });
});
