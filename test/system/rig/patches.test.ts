// Patch series for the built sources: ours first, then the user's; each changes the key of
// its component (only), applies with patch -p1, and a patch that does not apply stops the
// rig build before anything is compiled, naming the file. Real Debian sources, no builds.
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, InfraError } from '../../../src/errors.js';
import { run } from '../../../src/host/exec.js';
import { planDebianRig, type DebianPlan } from '../../../src/rig/debian/build.js';
import { patchSeries } from '../../../src/rig/debian/patches.js';
import { debianSourceTree } from '../../../src/rig/debian/sources.js';
import { prepareXen } from '../../../src/rig/debian/xen-build.js';
import { defaultCacheDir, obtainRig } from '../../../src/rig/index.js';

const cacheDir = defaultCacheDir();
const log = () => {};
const badQemuPatch = join(import.meta.dirname, '../../fixtures/rig/qemu-version-does-not-apply.patch');
let scratch: string;
let base: DebianPlan;
let goodXenPatch: string;

beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'rig-patch-test-'));
  base = await planDebianRig(cacheDir, { provider: 'debian' }, log);
  // A throwaway patch made against the real unpacked source: one line added to Xen's README.
  const pristine = await debianSourceTree(cacheDir, base.apt, 'xen', base.xen.binary.version, log);
  const readme = await readFile(join(pristine, 'README'), 'utf8');
  for (const side of ['a', 'b']) await mkdir(join(scratch, side));
  await writeFile(join(scratch, 'a', 'README'), readme);
  await writeFile(join(scratch, 'b', 'README'), `${readme}Patched by the xen-pvh-virtio rig test.\n`);
  const diff = await run('diff', ['-u', 'a/README', 'b/README'], { cwd: scratch, allowFailure: true });
  expect(diff.exitCode).toBe(1);
  goodXenPatch = join(scratch, 'readme.patch');
  await writeFile(goodXenPatch, diff.stdout);
}, 300_000);

afterAll(async () => {
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

describe('patch series', () => {
  it('puts our patches first, in name order, then the user patches in order', async () => {
    const series = await patchSeries('xen', [goodXenPatch]);
    expect(series.map((p) => p.from)).toEqual(['ours', 'ours', 'user']);
    expect(series[0]!.path).toMatch(/src\/rig\/debian\/patches\/xen\/0001-xen-arm-dom0less-trap-unmapped-accesses\.patch$/);
    expect(series[1]!.path).toMatch(/src\/rig\/debian\/patches\/xen\/0002-tools-init-dom0less-write-cpu-availability-for-every-vcpu\.patch$/);
    expect(series[2]!.path).toBe(goodXenPatch);
    expect(await patchSeries('qemu')).toEqual([]);
  });

  it("changes the xen key and the rig key, not the qemu key, and is applied to the tree", async () => {
    const patched = await planDebianRig(cacheDir, { provider: 'debian', xenPatches: [goodXenPatch] }, log);
    expect(patched.xen.key).not.toBe(base.xen.key);
    expect(patched.key).not.toBe(base.key);
    expect(patched.qemu.key).toBe(base.qemu.key);

    const prepared = await prepareXen(cacheDir, patched.apt, patched.xen, log);
    try {
      expect(await readFile(join(prepared.tree, 'README'), 'utf8')).toMatch(/Patched by the xen-pvh-virtio rig test\.\n$/);
      // Ours went in first.
      expect(await readFile(join(prepared.tree, 'xen/arch/arm/domain_build.c'), 'utf8')).toContain('"trap-unmapped-accesses"');
      expect(await readFile(join(prepared.build.logs, 'patch.log'), 'utf8')).toContain(goodXenPatch);
    } finally {
      await rm(prepared.build.work, { recursive: true, force: true });
    }
  }, 120_000);

  it('changes the key when only the patch content changes', async () => {
    const edited = join(scratch, 'readme-edited.patch');
    await writeFile(edited, (await readFile(goodXenPatch, 'utf8')).replace('rig test.', 'rig test!'));
    const a = await planDebianRig(cacheDir, { provider: 'debian', xenPatches: [goodXenPatch] }, log);
    const b = await planDebianRig(cacheDir, { provider: 'debian', xenPatches: [edited] }, log);
    expect(a.xen.key).not.toBe(b.xen.key);
  });

  it('refuses a QEMU patch that does not apply before building anything, naming the file and showing patch', async () => {
    const started = Date.now();
    const err = await obtainRig({ provider: 'debian', qemuPatches: [badQemuPatch] }, { cacheDir, log }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    const message = (err as Error).message;
    expect(message).toContain(badQemuPatch);
    expect(message).toMatch(/does not apply/);
    expect(message).toMatch(/Hunk #1 FAILED/);
    // Seconds (copying the source), not the minutes a QEMU build takes.
    expect(Date.now() - started).toBeLessThan(120_000);
    // The refused tree is not left behind in the cache's work folder.
    const plan = await planDebianRig(cacheDir, { provider: 'debian', qemuPatches: [badQemuPatch] }, log);
    const work = await readdir(join(cacheDir, 'work')).catch(() => [] as string[]);
    expect(work.filter((w) => w.startsWith(`qemu-${plan.qemu.key.slice(0, 16)}-`))).toEqual([]);
  }, 300_000);

  it('turns a failing build step into an InfraError naming the step and its log, with the log tail', async () => {
    // A make-time error in xen/Makefile: the build stops at make olddefconfig, seconds in.
    const pristine = await debianSourceTree(cacheDir, base.apt, 'xen', base.xen.binary.version, log);
    const makefile = await readFile(join(pristine, 'xen/Makefile'), 'utf8');
    await mkdir(join(scratch, 'k/a/xen'), { recursive: true });
    await mkdir(join(scratch, 'k/b/xen'), { recursive: true });
    await writeFile(join(scratch, 'k/a/xen/Makefile'), makefile);
    await writeFile(join(scratch, 'k/b/xen/Makefile'), `$(error broken on purpose by the xen-pvh-virtio rig test)\n${makefile}`);
    const diff = await run('diff', ['-u', 'a/xen/Makefile', 'b/xen/Makefile'], { cwd: join(scratch, 'k'), allowFailure: true });
    const broken = join(scratch, 'broken-makefile.patch');
    await writeFile(broken, diff.stdout);

    const err = await obtainRig({ provider: 'debian', xenPatches: [broken] }, { cacheDir, log }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InfraError);
    const logFile = (err as InfraError).detail.logFile!;
    try {
      expect(logFile).toMatch(/\/work\/xen-[0-9a-f]{16}-\d+\/logs\/olddefconfig\.log$/);
      expect((err as Error).message).toContain(`xen: make olddefconfig failed`);
      expect((err as Error).message).toContain(`last 30 lines of ${logFile}`);
      const tail = (err as Error).message.split('\n').slice(1);
      expect(tail.length).toBeLessThanOrEqual(30);
      expect(await readFile(logFile, 'utf8')).toMatch(/^\$ make -C xen XEN_TARGET_ARCH=arm64/);
      expect((err as Error).message).toContain('broken on purpose by the xen-pvh-virtio rig test');
    } finally {
      await rm(join(logFile, '..', '..'), { recursive: true, force: true });
    }
  }, 300_000);

  it('names an unreadable user patch as a configuration error', async () => {
    const missing = join(scratch, 'no-such.patch');
    await expect(planDebianRig(cacheDir, { provider: 'debian', qemuPatches: [missing] }, log)).rejects.toThrow(ConfigError);
    await expect(planDebianRig(cacheDir, { provider: 'debian', qemuPatches: [missing] }, log)).rejects.toThrow(missing);
  });
});
