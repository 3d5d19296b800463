import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../../src/errors.js';
import { resolveLayout } from '../../../src/image/layout.js';
import { placeModules, MODULE_ALIGN, MODULE_BASE } from '../../../src/image/placement.js';
import { TWO_DOMUS } from '../../support/synthetic-rig.js';

const domU = { name: 'domU1', domid: 1, memoryMiB: 512, cpus: 1, vpl011: true };

describe('resolveLayout', () => {
  it('sizes Xen, dom0 and two domUs', () => {
    const l = resolveLayout(TWO_DOMUS);
    expect(l.machine).toEqual({ memoryMiB: 2048, cpus: 2 });
    expect(l.xenBootargs).toBe('dom0_mem=1024M bootscrub=0');
    expect(l.dom0.bootargs).toBe('console=hvc0 earlycon=xenboot');
    expect(l.domUs.map((d) => [d.name, d.bootargs])).toEqual([
      ['domU1', 'console=ttyAMA0'],
      ['domU2', 'console=hvc0 quiet'],
    ]);
  });

  it('grows the default machine to fit the domains', () => {
    expect(resolveLayout([{ ...domU, memoryMiB: 2048 }]).machine.memoryMiB).toBe(3584);
  });

  it.each([
    ['memory 0', [{ ...domU, memoryMiB: 0 }], {}, /domain domU1: memory \(MiB\) must be a positive whole number, got 0/],
    ['more cpus than the machine', [{ ...domU, cpus: 3 }], {}, /domain domU1: cpus 3 is more than the machine's 2/],
    ['domains that do not fit', [domU, { ...domU, name: 'domU2', domid: 2 }], { machineMemoryMiB: 1536 },
      /do not fit in the machine: dom0 1024 \+ domU1 512 \+ domU2 512 \+ Xen 256 = 2304 MiB > 1536 MiB/],
    ['a gap in domids', [{ ...domU, domid: 2 }], {}, /domid 2 is not possible; dom0less domUs get ids 1..1/],
    ['a name that is no DT node name', [{ ...domU, name: 'dom U' }], {}, /must be a device-tree node name/],
    ['a name used twice', [domU, { ...domU, domid: 2 }], {}, /the name is used twice/],
  ])('rejects %s with a ConfigError', (_what, specs, opts, message) => {
    expect(() => resolveLayout(specs, opts)).toThrow(ConfigError);
    expect(() => resolveLayout(specs, opts)).toThrow(message);
  });
});

describe('placeModules', () => {
  it('lays out aligned, non-overlapping modules for any number of domUs', () => {
    const files = [];
    for (const domain of ['dom0', 'domU1', 'domU2', 'domU3']) {
      files.push({ domain, kind: 'kernel' as const, file: 'Image', size: 32_956_352 });
      files.push({ domain, kind: 'ramdisk' as const, file: `${domain}.cpio`, size: 4_862_796, reserve: domain === 'dom0' ? 4_900_000 : 0 });
    }
    const placed = placeModules(files, 2048);
    expect(placed[0]?.addr).toBe(MODULE_BASE);
    for (const [i, p] of placed.entries()) {
      expect(p.addr % MODULE_ALIGN).toBe(0);
      const next = placed[i + 1];
      if (next) expect(next.addr).toBeGreaterThanOrEqual(p.addr + Math.max(p.size, p.reserve ?? 0));
    }
  });

  it('refuses modules that run past the end of RAM', () => {
    const files = [{ domain: 'dom0', kind: 'kernel' as const, file: 'Image', size: 300 * 1024 * 1024 }];
    expect(() => placeModules(files, 512)).toThrow(/boot modules need 300 MiB from 0x50000000, past the end of the machine's 512 MiB/);
  });
});
