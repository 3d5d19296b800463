// The yocto provider's plan, without kas: the exact kas invocations, and cache keys that move
// only when their own inputs move. The kas files are written here in kas's format, laid out
// as a yoxen checkout (kas/ inside a git work tree, includes relative to its root).
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../../src/errors.js';
import { DEFAULT_KAS_FILE, QEMU_SDK_CONFIGURE_FLAGS, describeYoctoPlan, planYocto, type YoctoPlan } from '../../../src/rig/yocto/plan.js';
import type { RigRequest } from '../../../src/config/types.js';

const root = mkdtempSync(join(tmpdir(), 'yocto-plan-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const COMMON = `header:
  version: 14
distro: poky
repos:
  poky:
    url: https://git.yoctoproject.org/poky
    commit: 1111111111111111111111111111111111111111
    layers:
      meta:
      meta-poky:
  meta-virtualization:
    url: https://git.yoctoproject.org/meta-virtualization
    commit: 2222222222222222222222222222222222222222
local_conf_header:
  base: |
    DISTRO_FEATURES:append = " xen virtualization"
`;
const ARM64 = `header:
  version: 14
  includes:
    - kas/common.yml
machine: qemuarm64
target: xen-image-minimal
local_conf_header:
  images: |
    IMAGE_FSTYPES:append = " cpio.gz ext4"
`;

let n = 0;
/** A fresh yoxen-like checkout; edit(common, arm64) may change either file's text. */
function checkout(edit: (files: { common: string; arm64: string }) => void = () => undefined): string {
  const dir = join(root, `yoxen-${n++}`);
  mkdirSync(join(dir, '.git'), { recursive: true });
  mkdirSync(join(dir, 'kas'));
  const files = { common: COMMON, arm64: ARM64 };
  edit(files);
  writeFileSync(join(dir, 'kas/common.yml'), files.common);
  writeFileSync(join(dir, DEFAULT_KAS_FILE), files.arm64);
  return dir;
}

const cacheDir = '/cache';
function plan(dir: string, request: Partial<RigRequest> = {}): YoctoPlan {
  return planYocto({ provider: 'yocto', ...request }, { cacheDir, cwd: dir, hostArch: 'x64' });
}

describe('the yocto plan', () => {
  const dir = checkout();
  const p = plan(dir);

  it("defaults to yoxen's kas/yoxen-arm64.yml in the working directory and reads its includes", () => {
    expect(p.kasFile).toBe(join(dir, 'kas/yoxen-arm64.yml'));
    expect(p.kas.files).toEqual([join(dir, 'kas/common.yml'), join(dir, 'kas/yoxen-arm64.yml')]);
    expect(p.machine).toBe('qemuarm64');
    expect(p.deployDir).toBe(join(p.buildDir, 'tmp/deploy/images/qemuarm64'));
  });

  it('builds the dom0 image, the domU image and the SDK with three kas argument arrays', () => {
    const file = join(dir, 'kas/yoxen-arm64.yml');
    expect(p.kasSteps.map((s) => s.argv)).toEqual([
      ['kas', 'build', file, '--target', 'xen-image-minimal'],
      ['kas', 'build', file, '--target', 'core-image-minimal'],
      ['kas', 'build', file, '--target', 'xen-image-minimal', '-c', 'populate_sdk'],
    ]);
    for (const s of p.kasSteps) {
      expect(s.env).toEqual({ KAS_WORK_DIR: p.workDir, KAS_BUILD_DIR: p.buildDir, DL_DIR: p.caches.downloads.dir, SSTATE_DIR: p.caches.sstate.dir });
    }
  });

  it("cross-builds QEMU with the seed's configure options and PKG_CONFIG=pkg-config", () => {
    expect(p.qemu.configure).toEqual([...QEMU_SDK_CONFIGURE_FLAGS]);
    for (const flag of ['--enable-xen', '--disable-tcg', '--target-list=aarch64-softmmu', '--enable-slirp', '--enable-trace-backends=log', '--disable-vhost-user', '--extra-cflags=-Os']) {
      expect(p.qemu.configure).toContain(flag);
    }
    expect(p.qemu.env).toEqual({ PKG_CONFIG: 'pkg-config' });
    expect(p.qemu.repo).toBe('https://gitlab.com/qemu-project/qemu.git');
    expect(p.qemu.ref).toBe('master');
  });

  it('keeps every cache slot under the cache dir, keyed, and describes what each key hashes', () => {
    for (const [name, slot] of Object.entries(p.caches)) {
      expect(slot.key).toMatch(/^[0-9a-f]{64}$/);
      expect(slot.dir).toBe(join(cacheDir, 'yocto', name, slot.key));
      expect(slot.hashes.length).toBeGreaterThan(20);
    }
    const shown = describeYoctoPlan(p);
    expect(shown.kas).toEqual(p.kasSteps.map((s) => ({ purpose: s.purpose, command: s.argv.join(' ') })));
  });

  it('does not care how the kas file is spelled (key order, comments, quoting)', () => {
    const respelled = checkout((f) => {
      f.arm64 = `# yoxen arm64\nheader:\n  includes: ["kas/common.yml"]\n  version: 14\nlocal_conf_header:\n  images: |\n    IMAGE_FSTYPES:append = " cpio.gz ext4"\ntarget: xen-image-minimal\nmachine: "qemuarm64"\n`;
    });
    const q = plan(respelled);
    for (const name of ['downloads', 'sstate', 'sdk', 'qemu'] as const) expect(q.caches[name].key).toBe(p.caches[name].key);
    expect(q.key).toBe(p.key);
  });
});

describe('cache keys move only with their own inputs', () => {
  const base = plan(checkout());
  const keys = (q: YoctoPlan) => ({ downloads: q.caches.downloads.key, sstate: q.caches.sstate.key, sdk: q.caches.sdk.key, qemu: q.caches.qemu.key, rig: q.key });
  const changed = (q: YoctoPlan) =>
    Object.entries(keys(q))
      .filter(([k, v]) => keys(base)[k as keyof ReturnType<typeof keys>] !== v)
      .map(([k]) => k);

  it('a layer revision changes all of them', () => {
    const q = plan(checkout((f) => (f.common = f.common.replace('2222222222222222222222222222222222222222', '3333333333333333333333333333333333333333'))));
    expect(changed(q)).toEqual(['downloads', 'sstate', 'sdk', 'qemu', 'rig']);
  });

  it('a local.conf line or the machine keeps DL_DIR', () => {
    expect(changed(plan(checkout((f) => (f.arm64 = f.arm64.replace('cpio.gz ext4', 'cpio.gz')))))).toEqual(['sstate', 'sdk', 'qemu', 'rig']);
    expect(changed(plan(checkout((f) => (f.arm64 = f.arm64.replace('machine: qemuarm64', 'machine: qemuarm64-secureboot')))))).toEqual([
      'sstate',
      'sdk',
      'qemu',
      'rig',
    ]);
  });

  it("the kas file's own target keeps every cache (we name the targets ourselves)", () => {
    expect(changed(plan(checkout((f) => (f.arm64 = f.arm64.replace('target: xen-image-minimal', 'target: core-image-minimal')))))).toEqual([]);
  });

  it('the QEMU ref or a QEMU patch keeps DL_DIR, SSTATE_DIR and the SDK', () => {
    const dir = checkout();
    expect(changed(plan(dir, { qemuRef: 'v10.1.0' }))).toEqual(['qemu', 'rig']);
    expect(changed(plan(dir, { qemuPatches: ['/p/0001-fix.patch'] }))).toEqual(['qemu', 'rig']);
  });

  it('another build host keeps DL_DIR only', () => {
    const q = planYocto({ provider: 'yocto' }, { cacheDir, cwd: checkout(), hostArch: 'arm64' });
    expect(changed(q)).toEqual(['sstate', 'sdk', 'qemu', 'rig']);
  });
});

describe('bad kas input', () => {
  const labels = { kasFile: '--kas-file' };

  it('names the input and the default when there is no kas file', () => {
    const empty = join(root, 'empty');
    mkdirSync(empty);
    expect(() => plan(empty, { labels })).toThrow(ConfigError);
    expect(() => plan(empty, { labels })).toThrow(`--kas-file (default kas/yoxen-arm64.yml, in a yoxen checkout): cannot read kas file ${join(empty, 'kas/yoxen-arm64.yml')}`);
    expect(() => plan(empty, { labels, kasFile: join(empty, 'mine.yml') })).toThrow(`--kas-file: cannot read kas file ${join(empty, 'mine.yml')}`);
  });

  it('names a missing include and the file that includes it', () => {
    const dir = checkout((f) => (f.arm64 = f.arm64.replace('kas/common.yml', 'kas/gone.yml')));
    expect(() => plan(dir, { labels })).toThrow(`cannot read kas file ${join(dir, 'kas/gone.yml')} (included from ${join(dir, 'kas/yoxen-arm64.yml')})`);
  });

  it('refuses YAML that is no kas configuration, and one without a machine', () => {
    expect(() => plan(checkout((f) => (f.arm64 = 'machine: [unclosed\n')), { labels })).toThrow(/^--kas-file \(default kas\/yoxen-arm64\.yml, in a yoxen checkout\): \/.*yoxen-arm64\.yml is not valid YAML/);
    expect(() => plan(checkout((f) => (f.arm64 = 'machine: qemuarm64\n')), { labels })).toThrow(/is not a kas configuration \(no header: version:\)/);
    expect(() => plan(checkout((f) => (f.arm64 = f.arm64.replace('machine: qemuarm64\n', ''))), { labels })).toThrow(/sets no machine/);
  });
});
