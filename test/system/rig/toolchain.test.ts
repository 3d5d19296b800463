// The pinned toolchain: its key says which packages and nothing of the host, and what it
// compiles is an arm64 program linked against the bookworm sysroot, whatever the host has.
import { mkdirSync, mkdtempSync, readlinkSync, symlinkSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { run } from '../../../src/host/exec.js';
import { defaultCacheDir } from '../../../src/rig/cache.js';
import { planDebianRig } from '../../../src/rig/debian/build.js';
import { readElfNeeds } from '../../../src/rig/build/elf.js';
import { CROSS_PREFIX, ensureToolchain, pointPkgConfigAt, relativizeSymlinks, toolchainKey } from '../../../src/rig/toolchain/index.js';
import { COMPILER_EXCLUDED, hostArch } from '../../../src/rig/toolchain/recipe.js';

const log = () => {};

describe('toolchain key', () => {
  const gcc = { name: 'gcc-12-aarch64-linux-gnu', version: '12.2.0-14cross1', arch: 'amd64' };
  const libc = { name: 'libc6-dev', version: '2.36-9+deb12u14', arch: 'arm64' };

  const runtime = { name: 'libc6', version: '2.36-9+deb12u14', arch: 'amd64' };

  it('depends on the exact package versions and nothing else', () => {
    expect(toolchainKey([gcc], [runtime], [libc])).toBe(toolchainKey([gcc], [runtime], [libc]));
    expect(toolchainKey([gcc], [runtime], [libc])).not.toBe(toolchainKey([gcc], [runtime], [{ ...libc, version: '2.36-9+deb12u15' }]));
    expect(toolchainKey([gcc], [runtime], [libc])).not.toBe(toolchainKey([{ ...gcc, version: '12.2.0-14cross2' }], [runtime], [libc]));
    expect(toolchainKey([gcc], [runtime], [libc])).not.toBe(toolchainKey([gcc], [{ ...runtime, version: '2.36-9+deb12u15' }], [libc]));
  });

  it("never unpacks the host's C runtime or a second target libc beside the sysroot's", () => {
    for (const name of ['libc6', 'libstdc++6', 'libgcc-s1', 'libc6-dev-arm64-cross', 'libc6-arm64-cross', 'linux-libc-dev-arm64-cross']) {
      expect(COMPILER_EXCLUDED.test(name), name).toBe(true);
    }
    for (const name of ['gcc-12-aarch64-linux-gnu', 'binutils-aarch64-linux-gnu', 'libgcc-12-dev-arm64-cross', 'libisl23', 'libmpc3', 'libbinutils']) {
      expect(COMPILER_EXCLUDED.test(name), name).toBe(false);
    }
  });

  it('knows the two host architectures', () => {
    expect(hostArch('x64')).toBe('amd64');
    expect(hostArch('arm64')).toBe('arm64');
    expect(hostArch('riscv64')).toBeUndefined();
  });

  it("moves a .pc file's /usr variables under a root, leaving ${} references alone", () => {
    const pc = 'prefix=/usr\nlibdir=${prefix}/lib/aarch64-linux-gnu\nincludedir=/usr/include\nName: z\nLibs: -L${libdir} -lz\n';
    expect(pointPkgConfigAt(pc, "/c a'che/sysroot")).toBe(
      "prefix=/c a'che/sysroot/usr\nlibdir=${prefix}/lib/aarch64-linux-gnu\nincludedir=/c a'che/sysroot/usr/include\nName: z\nLibs: -L${libdir} -lz\n",
    );
  });
});

describe('sysroot links', () => {
  it('points absolute links back into the sysroot, leaving relative ones alone', async () => {
    const root = mkdtempSync(join(tmpdir(), 'xpv-sysroot-'));
    mkdirSync(join(root, 'usr/lib/aarch64-linux-gnu'), { recursive: true });
    symlinkSync('/lib/aarch64-linux-gnu/libz.so.1.2.13', join(root, 'usr/lib/aarch64-linux-gnu/libz.so'));
    symlinkSync('libglib-2.0.so.0', join(root, 'usr/lib/aarch64-linux-gnu/libglib-2.0.so'));
    expect(await relativizeSymlinks(root)).toBe(1);
    expect(readlinkSync(join(root, 'usr/lib/aarch64-linux-gnu/libz.so'))).toBe('../../../lib/aarch64-linux-gnu/libz.so.1.2.13');
    expect(readlinkSync(join(root, 'usr/lib/aarch64-linux-gnu/libglib-2.0.so'))).toBe('libglib-2.0.so.0');
  });
});

describe('the rig key does not depend on the host', () => {
  it('is the same from another cache folder, another PATH and no host cross tools', async () => {
    const a = await planDebianRig(defaultCacheDir(), { provider: 'debian' }, log);
    const other = mkdtempSync(join(tmpdir(), "xpv key 'host' "));
    const path = process.env.PATH;
    // A host with nothing but the basics on PATH: no aarch64-linux-gnu-* tools, no pkg-config.
    process.env.PATH = '/usr/bin:/bin';
    try {
      const b = await planDebianRig(other, { provider: 'debian' }, log);
      expect(b.key).toBe(a.key);
      expect(b.toolchain.key).toBe(a.toolchain.key);
      expect(b.xen.key).toBe(a.xen.key);
      expect(b.qemu.key).toBe(a.qemu.key);
      for (const inputs of [a.xen.inputs, a.qemu.inputs]) expect(JSON.stringify(inputs)).not.toContain(defaultCacheDir());
    } finally {
      process.env.PATH = path;
    }
  }, 120_000);
});

describe('the pinned compiler', () => {
  it('builds an arm64 program against the sysroot that runs under qemu-user with the sysroot as its root', async () => {
    const plan = await planDebianRig(defaultCacheDir(), { provider: 'debian' }, log);
    const tc = await ensureToolchain(defaultCacheDir(), plan.toolchain, log);
    const dir = mkdtempSync(join(tmpdir(), 'xpv-tc-'));
    writeFileSync(join(dir, 't.c'), '#include <stdio.h>\n#include <zlib.h>\nint main(void) { printf("zlib %s\\n", zlibVersion()); return 0; }\n');
    const cflags = (await run(join(tc.bin, `${CROSS_PREFIX}pkg-config`), ['--cflags', '--libs', 'zlib'])).stdout.trim().split(/\s+/).filter(Boolean);
    await run(join(tc.bin, `${CROSS_PREFIX}gcc`), ['-O2', '-o', join(dir, 't'), join(dir, 't.c'), ...cflags]);
    const elf = await readFile(join(dir, 't'));
    expect(elf.readUInt16LE(18)).toBe(183); // e_machine EM_AARCH64
    expect(readElfNeeds(elf).needed).toEqual(expect.arrayContaining(['libz.so.1', 'libc.so.6']));
    // Only symbols bookworm's glibc has: the program runs in dom0's bookworm userland.
    const { stdout } = await run('qemu-aarch64', ['-L', tc.sysroot, join(dir, 't')]);
    expect(stdout).toMatch(/^zlib 1\.2\.13/);
  }, 300_000);
});
