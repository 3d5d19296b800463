// In a reused build tree, configure runs again only when a source it reads changed: these are
// the paths that count, for Xen's tools and for QEMU.
import { describe, expect, it } from 'vitest';
import { touchesQemuConfigure } from '../../../../src/rig/source/qemu.js';
import { touchesConfigure } from '../../../../src/rig/source/xen.js';

const set = (...p: string[]) => new Set(p);

describe("Xen tools' configure inputs", () => {
  it('are configure itself, its templates and macros', () => {
    for (const p of ['configure', 'tools/configure', 'tools/configure.ac', 'config/Tools.mk.in', 'tools/config.h.in', 'm4/python_devel.m4', 'tools/m4/x.m4', 'config.sub', 'aclocal.m4']) {
      expect(touchesConfigure(set('xen/common/version.c', p)), p).toBe(true);
    }
  });
  it('are not sources, Makefiles or headers', () => {
    expect(touchesConfigure(set('xen/arch/arm/domain_build.c', 'tools/xl/Makefile', 'tools/include/xen/xen.h', 'docs/configure-notes.txt', 'xen/include/inc.h'))).toBe(false);
  });
});

describe("QEMU's configure inputs", () => {
  it('are the script, its options files, its Python and the subprojects', () => {
    for (const p of ['configure', 'meson_options.txt', 'meson.options', 'scripts/meson-buildoptions.sh', 'pythondeps.toml', 'python/scripts/mkvenv.py', 'subprojects/keycodemapdb.wrap', 'configs/meson/linux.txt']) {
      expect(touchesQemuConfigure(set(p)), p).toBe(true);
    }
  });
  it('are not sources or meson.build files (ninja re-runs meson for those itself)', () => {
    expect(touchesQemuConfigure(set('hw/xen/xen-pvh-common.c', 'meson.build', 'hw/xen/meson.build', 'tests/configure-test.sh', 'docs/meson.options.rst'))).toBe(false);
  });
});
