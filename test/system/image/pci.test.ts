// One spec, two outputs: the host bridge, its pt.dts (compiled by the real dtc) and the
// backend QEMU argv all come from resolvePciHostBridge.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DomainSpec, VirtioPciWindows } from '../../../src/config/types.js';
import { ConfigError } from '../../../src/errors.js';
import { run } from '../../../src/host/exec.js';
import { backendMachineArgs, backendQemuArgs, backendReadiness } from '../../../src/image/backend-args.js';
import { compileDts } from '../../../src/image/dtb.js';
import { passthroughDts } from '../../../src/image/passthrough-dts.js';
import { DEFAULT_PCI_WINDOWS, guestRamBanks, intxRoutes, resolvePciHostBridge, type PciHostBridge } from '../../../src/image/pci.js';

const domU1: DomainSpec = { name: 'domU1', domid: 1, memoryMiB: 1024, cpus: 1, vpl011: true, virtioPci: 'foreign' };

function bridgeOf(spec: Partial<DomainSpec> = {}, windows?: VirtioPciWindows): PciHostBridge {
  const b = resolvePciHostBridge({ ...domU1, ...spec, ...(windows ? { virtioPciWindows: windows } : {}) });
  if (!b) throw new Error('no bridge');
  return b;
}

/** The seed's older layout (before pci-intx-irq-base existed), with upstream's INTx base. */
const SEED_OLD: VirtioPciWindows = {
  ecam: { base: 0x110_0000_0000n, size: 0x1000_0000n },
  mmio: { base: 0x110_1000_0000n, size: 0x200_0000n },
  prefetch: { base: 0x100_0000_0000n, size: 0x10_0000_0000n },
  intxIrqBase: 44,
};

describe('resolvePciHostBridge', () => {
  it('gives no bridge to a domain without virtio-pci', () => {
    expect(resolvePciHostBridge({ ...domU1, virtioPci: undefined })).toBeUndefined();
  });

  it("takes upstream's windows by default", () => {
    expect(bridgeOf()).toEqual({
      domain: { name: 'domU1', domid: 1, memoryMiB: 1024, cpus: 1 },
      mode: 'foreign',
      ecam: { base: 0xf1_0000_0000n, size: 0x1000_0000n },
      mmio: { base: 0xf1_1000_0000n, size: 0x200_0000n },
      prefetch: { base: 0xf0_0000_0000n, size: 0x1_0000_0000n },
      intxIrqBase: 44,
    });
  });

  it("accepts the seed's older 0x110…/0x100… layout with an explicit INTx base", () => {
    const b = bridgeOf({ virtioPci: 'grants' }, SEED_OLD);
    expect(b).toMatchObject({ mode: 'grants', ecam: SEED_OLD.ecam, mmio: SEED_OLD.mmio, prefetch: SEED_OLD.prefetch, intxIrqBase: 44 });
  });

  it('overrides window by window, keeping the defaults for the rest', () => {
    const b = bridgeOf({}, { mmio: { base: 0x8_0000_0000n, size: 0x100_0000n }, intxIrqBase: 100 });
    expect(b.mmio).toEqual({ base: 0x8_0000_0000n, size: 0x100_0000n });
    expect(b.ecam).toEqual(DEFAULT_PCI_WINDOWS.ecam);
    expect(b.prefetch).toEqual(DEFAULT_PCI_WINDOWS.prefetch);
    expect(b.intxIrqBase).toBe(100);
  });

  it('takes a layout entirely below 4 GiB when the RAM leaves room', () => {
    const b = bridgeOf({ memoryMiB: 512 }, {
      ecam: { base: 0xa000_0000n, size: 0x1000_0000n },
      mmio: { base: 0xb000_0000n, size: 0x1000_0000n },
      prefetch: { base: 0xc000_0000n, size: 0x2000_0000n },
      intxIrqBase: 284,
    });
    expect(b.intxIrqBase).toBe(284);
  });

  it('gives each of two domUs its own bridge: their address spaces are separate', () => {
    const a = bridgeOf();
    const b = bridgeOf({ name: 'domU2', domid: 2, memoryMiB: 4096, cpus: 2, virtioPci: 'grants' });
    expect(b.domain).toEqual({ name: 'domU2', domid: 2, memoryMiB: 4096, cpus: 2 });
    expect(b.ecam).toEqual(a.ecam);
  });

  it("places the domU's RAM where Xen does: 3 GiB in RAM0, the rest in RAM1", () => {
    expect(guestRamBanks(1024)).toEqual([{ base: 0x4000_0000n, size: 0x4000_0000n }]);
    expect(guestRamBanks(4096)).toEqual([
      { base: 0x4000_0000n, size: 0xc000_0000n },
      { base: 0x2_0000_0000n, size: 0x4000_0000n },
    ]);
  });

  const w = (base: bigint, size: bigint) => ({ base, size });
  it.each<[string, Partial<DomainSpec>, VirtioPciWindows, string]>([
    ['an ECAM size QEMU refuses', {}, { ecam: w(0xf1_0000_0000n, 0x800_0000n) },
      "domain domU1: virtio-pci ecam window size 0x8000000: QEMU's xenpvh machine only accepts 0x10000000 (256 buses of 1 MiB)"],
    ['an ECAM base not aligned to its size', {}, { ecam: w(0xf1_0800_0000n, 0x1000_0000n) },
      'domain domU1: virtio-pci ecam window base 0xf108000000 must be aligned to its size 0x10000000'],
    ['an unaligned MMIO base', {}, { mmio: w(0xf1_1000_1000n, 0x200_0000n) },
      'domain domU1: virtio-pci mmio window base 0xf110001000 must be a multiple of 64 KiB (0x10000)'],
    ['an unaligned prefetch size', {}, { prefetch: w(0xf0_0000_0000n, 0x1_0000_8000n) },
      'domain domU1: virtio-pci prefetch window size 0x100008000 must be a multiple of 64 KiB (0x10000)'],
    ['an empty window', {}, { mmio: w(0xf1_1000_0000n, 0n) },
      'domain domU1: virtio-pci mmio window size must be more than 0'],
    ['windows overlapping each other', {}, { mmio: w(0xf1_0fff_0000n, 0x200_0000n) },
      'domain domU1: virtio-pci mmio window 0xf10fff0000-0xf111feffff overlaps the ecam window 0xf100000000-0xf10fffffff'],
    ['the prefetch window over the ECAM', {}, { prefetch: w(0xf0_0000_0000n, 0x2_0000_0000n) },
      'domain domU1: virtio-pci prefetch window 0xf000000000-0xf1ffffffff overlaps the ecam window 0xf100000000-0xf10fffffff'],
    ['a window over RAM0', {}, { prefetch: w(0x6000_0000n, 0x1000_0000n) },
      "domain domU1: virtio-pci prefetch window 0x60000000-0x6fffffff overlaps the domain's RAM 0x40000000-0x7fffffff (1024 MiB)"],
    ['a window over RAM1 of a big domU', { memoryMiB: 8192 }, { mmio: w(0x2_2000_0000n, 0x200_0000n) },
      "domain domU1: virtio-pci mmio window 0x220000000-0x221ffffff overlaps the domain's RAM 0x200000000-0x33fffffff (8192 MiB)"],
    ["a window in Xen's guest device area", {}, { mmio: w(0x2200_0000n, 0x10_0000n) },
      "domain domU1: virtio-pci mmio window 0x22000000-0x220fffff overlaps the first 1 GiB, where Xen's guest memory map puts the GIC, vPL011, virtio-mmio, grant table and magic pages"],
    ['a window past the 44-bit IPA space', {}, { prefetch: w(0xfff_0000_0000n, 0x20_0000_0000n) },
      'domain domU1: virtio-pci prefetch window 0xfff00000000-0x101effffffff ends beyond 0xfffffffffff, the 44-bit guest physical address space Xen gives domUs on this machine (cortex-a57)'],
    ["an INTx base on vPL011's and virtio-mmio's SPIs", {}, { intxIrqBase: 40 },
      "domain domU1: virtio-pci intx-irq-base 40: INTA..INTD would be GIC INTIDs 40..43, which collide with Xen's vPL011 (32) or virtio-mmio (33..43) interrupts; use 44..284"],
    ['an INTx base whose INTD is past the last SPI', {}, { intxIrqBase: 285 },
      "domain domU1: virtio-pci intx-irq-base 285: INTA..INTD would be GIC INTIDs 285..288, past the GIC's last SPI 287; use 44..284"],
  ])('rejects %s', (_what, spec, windows, message) => {
    const attempt = () => bridgeOf(spec, windows);
    expect(attempt).toThrow(ConfigError);
    expect(attempt).toThrow(message);
  });
});

describe('intxRoutes', () => {
  it("follows QEMU's GPEX swizzle: line (slot + pin) mod 4 from the INTx base", () => {
    const routes = intxRoutes(bridgeOf());
    expect(routes).toHaveLength(16);
    // docs/rig-facts.md: slot 1 INTA → SPI 13 = IRQ 45 (the first virtio device).
    expect(routes.find((r) => r.slot === 1 && r.pin === 1)?.intid).toBe(45);
    expect(routes.find((r) => r.slot === 0 && r.pin === 1)?.intid).toBe(44);
    expect(routes.find((r) => r.slot === 3 && r.pin === 2)?.intid).toBe(44);
    for (const slot of [0, 1, 2, 3]) {
      expect(new Set(routes.filter((r) => r.slot === slot).map((r) => r.intid))).toEqual(new Set([44, 45, 46, 47]));
    }
  });
});

describe('passthroughDts', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'xpv-pt-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function compiled(bridge: PciHostBridge, name: string): Promise<string> {
    const dtb = join(dir, `${name}.dtb`);
    await compileDts(passthroughDts(bridge), join(dir, `${name}.dts`), dtb, 0);
    return (await run('dtc', ['-q', '-I', 'dtb', '-O', 'dts', dtb])).stdout;
  }

  /** A property's cells from decompiled dtc output, as numbers. */
  function cellsOf(dts: string, prop: string): number[] {
    const m = new RegExp(`\\n\\s*${prop} = <([^>]*)>;`).exec(dts);
    expect(m, prop).not.toBeNull();
    return m![1]!.trim().split(/\s+/).map((c) => Number(c));
  }

  it('compiles without a single dtc warning in foreign mode', async () => {
    const src = join(dir, 'strict.dts');
    await compileDts(passthroughDts(bridgeOf()), src, join(dir, 'ignored.dtb'), 0);
    const strict = await run('dtc', ['-I', 'dts', '-O', 'dtb', '-o', join(dir, 'strict.dtb'), src]);
    expect(strict.stderr).toBe('');
  });

  it('describes the bridge under /passthrough with the windows, as the seed does', async () => {
    const dts = await compiled(bridgeOf(), 'foreign');
    expect(dts).toMatch(/passthrough \{\s*compatible = "simple-bus";\s*ranges;/);
    expect(dts).toContain('pcie@f100000000 {');
    expect(dts).toContain('compatible = "pci-host-ecam-generic";');
    expect(dts).toContain('device_type = "pci";');
    expect(cellsOf(dts, 'reg')).toEqual([0xf1, 0, 0, 0x1000_0000]);
    expect(cellsOf(dts, 'bus-range')).toEqual([0, 0xff]);
    expect(cellsOf(dts, 'linux,pci-domain')).toEqual([1]);
    expect(cellsOf(dts, '#interrupt-cells')).toEqual([3]);
    expect(dts).toContain('dma-coherent;');
    // 32-bit MEM then 64-bit prefetchable, bus address = CPU address.
    expect(cellsOf(dts, 'ranges')).toEqual([
      0x0200_0000, 0xf1, 0x1000_0000, 0xf1, 0x1000_0000, 0, 0x200_0000,
      0x4300_0000, 0xf0, 0, 0xf0, 0, 1, 0,
    ]);
    expect(dts).not.toContain('iommu-map');
    expect(dts).not.toContain('xen,grant-dma');
  });

  it("routes every slot and pin through the GIC's phandle, never 65000", async () => {
    const b = bridgeOf({}, SEED_OLD);
    const dts = await compiled(b, 'map');
    const gic = /\n\tgic \{[^}]*phandle = <(0x[0-9a-f]+)>;/.exec(dts);
    expect(gic).not.toBeNull();
    const phandle = Number(gic![1]);
    expect(phandle).not.toBe(0xfde8);
    expect(cellsOf(dts, 'interrupt-parent')).toEqual([phandle]);
    expect(cellsOf(dts, 'interrupt-map-mask')).toEqual([0x1800, 0, 0, 7]);
    const map = cellsOf(dts, 'interrupt-map');
    // Child address (3) + pin (1) + parent phandle (1) + GIC address (0) + GIC specifier (3).
    expect(map).toHaveLength(16 * 8);
    const rows = Array.from({ length: 16 }, (_, i) => map.slice(i * 8, i * 8 + 8));
    expect(rows).toEqual(
      intxRoutes(b).map((r) => [r.slot << 11, 0, 0, r.pin, phandle, 0, r.intid - 32, 4]),
    );
    // slot 1 INTA → SPI 13 (IRQ 45), as measured on the rig.
    expect(rows[4]).toEqual([0x800, 0, 0, 1, phandle, 0, 13, 4]);
    expect(dts).toContain('pcie@11000000000 {');
  });

  it('adds the grant-dma node and an iommu-map to the backend in dom0 for grants', async () => {
    const dts = await compiled(bridgeOf({ virtioPci: 'grants' }), 'grants');
    const node = /xen-grant-dma \{[^}]*\}/.exec(dts)?.[0] ?? '';
    expect(node).toContain('compatible = "xen,grant-dma";');
    const grants = Number(/phandle = <(0x[0-9a-f]+)>/.exec(node)?.[1]);
    expect(cellsOf(dts, 'iommu-map')).toEqual([0, grants, 0, 0x10000]);
    expect(cellsOf(dts, 'iommu-map-mask')).toEqual([0]);
  });
});

describe('backendQemuArgs', () => {
  const machine =
    'xenpvh,pci-ecam-base=0xf100000000,pci-ecam-size=0x10000000,pci-mmio-base=0xf110000000,pci-mmio-size=0x2000000,' +
    'pci-mmio-high-base=0xf000000000,pci-mmio-high-size=0x100000000,pci-intx-irq-base=44';

  it("repeats the bridge's windows and the domU's id, memory and vCPUs", () => {
    expect(backendMachineArgs(bridgeOf())).toEqual([
      '-M', machine, '-xen-domid', '1', '-xen-attach', '-no-shutdown', '-display', 'none', '-smp', '1,maxcpus=1', '-m', '1024M',
    ]);
    const two = backendMachineArgs(bridgeOf({ name: 'domU2', domid: 2, memoryMiB: 512, cpus: 2 }, SEED_OLD));
    expect(two[1]).toBe(
      'xenpvh,pci-ecam-base=0x11000000000,pci-ecam-size=0x10000000,pci-mmio-base=0x11010000000,pci-mmio-size=0x2000000,' +
        'pci-mmio-high-base=0x10000000000,pci-mmio-high-size=0x1000000000,pci-intx-irq-base=44',
    );
    expect(two.join(' ')).toContain('-xen-domid 2 -xen-attach -no-shutdown -display none -smp 2,maxcpus=2 -m 512M');
  });

  it('serves a virtio-net device and traces the readiness events', () => {
    const args = backendQemuArgs({ bridge: bridgeOf(), devices: ['virtio-net'] });
    expect(args.join(' ')).toBe(
      `-M ${machine} -xen-domid 1 -xen-attach -no-shutdown -display none -smp 1,maxcpus=1 -m 1024M ` +
        '-netdev user,id=net0 -device virtio-net-pci,netdev=net0,romfile= ' +
        '-trace xen_ioreq_server_create -trace xen_map_mmio_range -trace xen_map_pcidev -msg timestamp=on',
    );
    expect(args).not.toContain('-nographic');
  });

  it('serves a virtio-blk device from a raw image in dom0, and both kinds together', () => {
    const blk = backendQemuArgs({ bridge: bridgeOf(), devices: ['virtio-blk'], disks: ['/root/disk.img'], logFile: '/tmp/qemu-domU1.log' });
    expect(blk.join(' ')).toContain('-drive file=/root/disk.img,if=none,id=blk0,format=raw -device virtio-blk-pci,drive=blk0');
    expect(blk.slice(-2)).toEqual(['-D', '/tmp/qemu-domU1.log']);
    const both = backendQemuArgs({ bridge: bridgeOf(), devices: ['virtio-net', 'virtio-blk', 'virtio-net'], disks: ['/a.img'] }).join(' ');
    expect(both).toContain('-netdev user,id=net0 -device virtio-net-pci,netdev=net0,romfile= -drive file=/a.img,if=none,id=blk0,format=raw');
    expect(both).toContain('-netdev user,id=net1 -device virtio-net-pci,netdev=net1,romfile=');
    expect(both).not.toContain('-global');
  });

  it('makes the devices modern-only and grant-aware in grants mode', () => {
    const args = backendQemuArgs({ bridge: bridgeOf({ virtioPci: 'grants' }), devices: ['virtio-net', 'virtio-blk'], disks: ['/d.img'] });
    const globals = args.flatMap((a, i) => (a === '-global' ? [args[i + 1]] : []));
    expect(globals).toEqual(['virtio-pci.disable-legacy=on', 'virtio-net-device.iommu_platform=on', 'virtio-blk-device.iommu_platform=on']);
    const netOnly = backendQemuArgs({ bridge: bridgeOf({ virtioPci: 'grants' }), devices: ['virtio-net'] });
    expect(netOnly.join(' ')).not.toContain('virtio-blk-device');
  });

  it('refuses a virtio-blk device without a disk image', () => {
    expect(() => backendQemuArgs({ bridge: bridgeOf(), devices: ['virtio-blk', 'virtio-blk'], disks: ['/a.img'] })).toThrow(
      'domain domU1: the backend has 2 virtio-blk devices but 1 disk image in dom0',
    );
  });
});

describe('backendReadiness', () => {
  const ready = backendReadiness(bridgeOf());
  // Lines as the rig's QEMU 10.0 (log trace backend, -msg timestamp=on) printed them in dom0.
  it('matches the trace lines of the log backend, with or without timestamps', () => {
    expect(ready.traceEvents).toEqual(['xen_ioreq_server_create', 'xen_map_mmio_range', 'xen_map_pcidev']);
    expect(ready.ioreqServerCreated.test('135@1795656035.839512:xen_ioreq_server_create id: 0')).toBe(true);
    expect(ready.ecamMapped.test('135@1795656036.290651:xen_map_mmio_range id: 0 start: 0xf100000000 end: 0xf10fffffff')).toBe(true);
    expect(ready.ecamMapped.test('xen_map_mmio_range id: 1 start: 0xf100000000 end: 0xf10fffffff')).toBe(true);
  });

  it('does not take another window, or another bridge, for the ECAM', () => {
    expect(ready.ecamMapped.test('135@1795656036.295935:xen_map_mmio_range id: 0 start: 0xf110000000 end: 0xf111ffffff')).toBe(false);
    expect(ready.ecamMapped.test('135@1795656036.223075:xen_map_mmio_range id: 0 start: 0x2000000 end: 0x20001ff')).toBe(false);
    expect(ready.ecamMapped.test('xen_map_mmio_range id: 0 start: 0xf1000000000 end: 0xf10fffffff')).toBe(false);
    expect(backendReadiness(bridgeOf({}, SEED_OLD)).ecamMapped.test('xen_map_mmio_range id: 0 start: 0x11000000000 end: 0x1100fffffff')).toBe(true);
  });

  it("recognises QEMU's warning when Xen has no IOREQ server support", () => {
    expect(ready.ioreqFailed.test('2025-07-01T10:00:00.000000Z qemu-system-aarch64: warning: xen: failed to create ioreq server')).toBe(true);
  });
});
