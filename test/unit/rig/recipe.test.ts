// The cheap, pure parts of the rig stage: recipe data, keys, cache locations, mirrors.
import { describe, expect, it } from 'vitest';
import { defaultCacheDir, recipeKey, rigDir } from '../../../src/rig/cache.js';
import { hostMirror } from '../../../src/rig/debian/apt.js';
import { isElf, readElfNeeds } from '../../../src/rig/build/elf.js';
import { mergedUsrPath, pathAliases } from '../../../src/rig/debian/packages.js';
import { rigRecipe } from '../../../src/rig/index.js';

describe('rig recipe and cache key', () => {
  it('prints the debian recipe without touching the network', () => {
    const recipe = rigRecipe({ provider: 'debian' }) as { packages: string[]; texts: { dom0: Record<string, string> } };
    expect(recipe.packages).toContain('xen-hypervisor-4.17-arm64');
    expect(recipe.packages).toContain('xen-utils-4.17');
    expect(recipe.texts.dom0['/etc/xen-pvh-virtio/rc']).toContain('init-dom0less');
  });

  it('keys on content, not on key order', () => {
    expect(recipeKey({ a: 1, b: [1, 2] })).toBe(recipeKey({ b: [1, 2], a: 1 }));
    expect(recipeKey({ a: 1, b: [1, 2] })).not.toBe(recipeKey({ a: 1, b: [2, 1] }));
    expect(recipeKey({ a: 'x' })).toMatch(/^[0-9a-f]{64}$/);
  });

  it('finds the cache under XEN_PVH_VIRTIO_CACHE, then XDG_CACHE_HOME', () => {
    expect(defaultCacheDir({ XEN_PVH_VIRTIO_CACHE: '/c', XDG_CACHE_HOME: '/x' })).toBe('/c');
    expect(defaultCacheDir({ XDG_CACHE_HOME: '/x' })).toBe('/x/xen-pvh-virtio');
    expect(defaultCacheDir({})).toMatch(/\/\.cache\/xen-pvh-virtio$/);
    expect(rigDir('/c', 'abc')).toBe('/c/rigs/abc');
  });
});

describe('host mirror', () => {
  it('takes the Debian entry of a deb822 file and skips security and other distributions', () => {
    const text = `Types: deb\nURIs: http://security.debian.org/debian-security\nSuites: bookworm-security\n\nTypes: deb\nURIs: http://mirror.example/debian/\nSuites: bookworm bookworm-updates\n`;
    expect(hostMirror(text)).toBe('http://mirror.example/debian');
    expect(hostMirror('Types: deb\nURIs: http://archive.ubuntu.com/ubuntu\nSuites: noble\n')).toBe('http://deb.debian.org/debian');
    expect(hostMirror('deb [arch=amd64] http://ftp.example/debian trixie main\n')).toBe('http://ftp.example/debian');
    expect(hostMirror('')).toBe('http://deb.debian.org/debian');
  });
});

describe('merged-usr paths and ELF reading', () => {
  it('maps /lib, /bin and /sbin into /usr and looks both spellings up', () => {
    expect(mergedUsrPath('/lib/aarch64-linux-gnu/libc.so.6')).toBe('/usr/lib/aarch64-linux-gnu/libc.so.6');
    expect(mergedUsrPath('/bin/busybox')).toBe('/usr/bin/busybox');
    expect(mergedUsrPath('/usr/share/misc/pci.ids')).toBe('/usr/share/misc/pci.ids');
    expect(pathAliases('/usr/lib/x.so')).toEqual(['/usr/lib/x.so', '/lib/x.so']);
  });

  it('rejects what is not ELF', () => {
    expect(isElf(Buffer.from('#!/bin/sh\n'))).toBe(false);
    expect(() => readElfNeeds(Buffer.from('#!/bin/sh\n'))).toThrow(/not an ELF/);
  });
});
