// What QEMU takes from a Xen build (src/rig/source/xen-interface.ts): a header or pkg-config
// change, or a library renamed, is a new interface; the same files elsewhere are the same
// one. (The exported symbols are read with the pinned toolchain's nm; the source rig's
// system tests exercise that on real builds.)
import { cp, mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STAGE_LIBDIR } from '../../../src/rig/source/recipe.js';
import { xenInterfaceHash } from '../../../src/rig/source/xen-interface.js';

let scratch: string;
const NM = '/nonexistent/nm'; // no library here is a real file, so nm is never run

async function stage(name: string): Promise<string> {
  const dir = join(scratch, name);
  await mkdir(join(dir, 'usr/include/xen'), { recursive: true });
  await mkdir(join(dir, STAGE_LIBDIR, 'pkgconfig'), { recursive: true });
  await writeFile(join(dir, 'usr/include/xenctrl.h'), '#include <xen/xen.h>\nint xc_interface_open(void);\n');
  await writeFile(join(dir, 'usr/include/xen/xen.h'), '#define XEN_VERSION 4\n');
  await writeFile(join(dir, STAGE_LIBDIR, 'pkgconfig/xencontrol.pc'), 'prefix=/usr\nName: Xencontrol\nVersion: 4.17.0\n');
  await symlink('libxenctrl.so.4.17', join(dir, STAGE_LIBDIR, 'libxenctrl.so'));
  return dir;
}

beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'xen-interface-'));
});

afterAll(async () => {
  await rm(scratch, { recursive: true, force: true });
});

describe('the interface a Xen build gives QEMU', () => {
  it('is the same for the same files wherever they are', async () => {
    const a = await stage('a');
    await cp(a, join(scratch, 'copy'), { recursive: true, verbatimSymlinks: true });
    expect(await xenInterfaceHash(join(scratch, 'copy'), NM)).toBe(await xenInterfaceHash(a, NM));
  });

  it('changes with a public header, a pkg-config file or a library link', async () => {
    const base = await xenInterfaceHash(await stage('base'), NM);
    const header = await stage('header');
    await writeFile(join(header, 'usr/include/xen/xen.h'), '#define XEN_VERSION 4\n#define XEN_NEW_HYPERCALL 42\n');
    const pc = await stage('pc');
    await writeFile(join(pc, STAGE_LIBDIR, 'pkgconfig/xencontrol.pc'), 'prefix=/usr\nName: Xencontrol\nVersion: 4.18.0\n');
    const link = await stage('link');
    await rm(join(link, STAGE_LIBDIR, 'libxenctrl.so'));
    await symlink('libxenctrl.so.4.18', join(link, STAGE_LIBDIR, 'libxenctrl.so'));
    const hashes = [base, await xenInterfaceHash(header, NM), await xenInterfaceHash(pc, NM), await xenInterfaceHash(link, NM)];
    expect(new Set(hashes).size).toBe(4);
  });

  it('ignores what QEMU does not use (programs, static archives, other folders)', async () => {
    const base = await xenInterfaceHash(await stage('plain'), NM);
    const extra = await stage('extra');
    await mkdir(join(extra, 'usr/sbin'), { recursive: true });
    await writeFile(join(extra, 'usr/sbin/xl'), 'a program\n');
    await writeFile(join(extra, STAGE_LIBDIR, 'libxenctrl.a'), 'an archive\n');
    expect(await xenInterfaceHash(extra, NM)).toBe(base);
  });
});
