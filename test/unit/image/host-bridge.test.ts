// Who writes a domU's virtio-pci host bridge: Xen (its dom0less `virtio-pci` property) or
// our partial DT. The choice over every mix of the two capabilities, the properties as dtc
// compiles them into the real xen.dtb (read back with fdtget), and agreement between what
// such a Xen would build from them and the backend QEMU's -M xenpvh options.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DomainSpec, VirtioPciNode, VirtioPciWindows } from '../../../src/config/types.js';
import { ConfigError } from '../../../src/errors.js';
import { run } from '../../../src/host/exec.js';
import {
  backendMachineArgs, buildBootMedia, chooseHostBridge, describeBootMedia, planBootMedia, resolvePciHostBridge, type PciHostBridge,
} from '../../../src/image/index.js';
import type { Capability, Rig } from '../../../src/rig/manifest.js';
import { syntheticRig, TWO_DOMUS } from '../../support/synthetic-rig.js';

let rig: Rig;
let work: string;
beforeAll(async () => {
  rig = await syntheticRig();
  work = await mkdtemp(join(tmpdir(), 'xpv-host-bridge-'));
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
  await rm(rig.dir, { recursive: true, force: true });
});

const withCaps = (...caps: Capability[]): Rig => ({ ...rig, manifest: { ...rig.manifest, capabilities: [...rig.manifest.capabilities, ...caps] } });

function domU1(windows?: VirtioPciWindows, node?: VirtioPciNode, mode: 'foreign' | 'grants' = 'foreign'): DomainSpec {
  return { ...TWO_DOMUS[0]!, memoryMiB: 1024, virtioPci: mode, ...(windows ? { virtioPciWindows: windows } : {}), ...(node ? { virtioPciNode: node } : {}) };
}

function bridge(spec: DomainSpec): PciHostBridge {
  return resolvePciHostBridge(spec)!;
}

/** Xen's fixed sizes and interrupt differ: a layout only our partial DT can describe. */
const SMALL_MMIO: VirtioPciWindows = { mmio: { base: 0xf1_1000_0000n, size: 0x100_0000n } };

describe('chooseHostBridge', () => {
  const XEN = 'dom0less-virtio-pci';
  const TRAP = 'trap-unmapped-accesses';

  it("takes Xen's own node when the rig's Xen parses the property, even when it also honours trap-unmapped-accesses", () => {
    for (const r of [withCaps(XEN), withCaps(XEN, TRAP)]) {
      const c = chooseHostBridge(bridge(domU1()), undefined, r);
      expect(c.node).toBe('xen');
      expect(c.property).toEqual({ value: 'enabled' });
      expect(c.why).toMatch(/parses the dom0less virtio-pci property and the bridge is its layout/);
    }
  });

  it('takes our partial DT on a Xen with trap-unmapped-accesses only', () => {
    const c = chooseHostBridge(bridge(domU1()), undefined, withCaps(TRAP));
    expect(c).toEqual({ node: 'passthrough', why: expect.stringMatching(/honours trap-unmapped-accesses \(and has no dom0less virtio-pci property\)/) });
  });

  it("falls back to our partial DT when the windows are not Xen's layout, saying which differ", () => {
    const c = chooseHostBridge(bridge(domU1({ ...SMALL_MMIO, intxIrqBase: 100 })), undefined, withCaps(XEN, TRAP));
    expect(c.node).toBe('passthrough');
    expect(c.why).toContain("mmio size 0x1000000 is not Xen's fixed 0x2000000; intx-irq-base 100 is not Xen's fixed 44");
  });

  it('honours a domain that chooses, and refuses a choice the rig cannot give', () => {
    expect(chooseHostBridge(bridge(domU1()), 'passthrough', withCaps(XEN, TRAP)).node).toBe('passthrough');
    expect(chooseHostBridge(bridge(domU1()), 'xen', withCaps(XEN, TRAP)).node).toBe('xen');
    expect(() => chooseHostBridge(bridge(domU1()), 'xen', withCaps(TRAP))).toThrow(
      /^domain domU1: virtio-pci node: xen needs a Xen that parses the dom0less virtio-pci property, which the prebuilt rig in .* lacks$/,
    );
    expect(() => chooseHostBridge(bridge(domU1()), 'passthrough', withCaps(XEN))).toThrow(
      /^domain domU1: virtio-pci node: passthrough needs a Xen that honours trap-unmapped-accesses, which the prebuilt rig in .* lacks/,
    );
    expect(() => chooseHostBridge(bridge(domU1(SMALL_MMIO)), 'xen', withCaps(XEN, TRAP))).toThrow(
      "domain domU1: virtio-pci node: xen cannot describe this bridge: mmio size 0x1000000 is not Xen's fixed 0x2000000",
    );
  });

  it("refuses windows Xen's node cannot have on a Xen without trap-unmapped-accesses, naming Xen's layout", () => {
    expect(() => chooseHostBridge(bridge(domU1(SMALL_MMIO)), undefined, withCaps(XEN))).toThrow(ConfigError);
    expect(() => chooseHostBridge(bridge(domU1(SMALL_MMIO)), undefined, withCaps(XEN))).toThrow(
      /use Xen's layout \(ecam 0xf100000000-0xf10fffffff, mmio 0xf110000000-0xf111ffffff, prefetch 0xf000000000-0xf0ffffffff, intx-irq-base 44\)$/,
    );
  });

  it('moves the bases with virtio-pci-ranges only when they differ from the defaults, and says grants', () => {
    const moved = { ecam: { base: 0x8_0000_0000n, size: 0x1000_0000n } };
    expect(chooseHostBridge(bridge(domU1(moved, undefined, 'grants')), undefined, withCaps(XEN)).property).toEqual({
      value: 'grants',
      ranges: [0x8_0000_0000n, 0xf1_1000_0000n, 0xf0_0000_0000n],
    });
  });
});

/**
 * What a Xen with the property builds from the domain's node, decoded here on our own from
 * that Xen's rules (not from src/): the bases from virtio-pci-ranges (two cells each, high
 * first) or its defaults, its fixed sizes, INTx on GIC INTIDs 44..47.
 */
function xenReading(value: string, ranges: number[] | undefined) {
  const base = (i: number, fallback: bigint) => (ranges ? (BigInt(ranges[i]!) << 32n) | BigInt(ranges[i + 1]!) : fallback);
  return {
    mode: value === 'grants' ? 'grants' : 'foreign',
    ecam: { base: base(0, 0xf1_0000_0000n), size: 0x1000_0000n },
    mmio: { base: base(2, 0xf1_1000_0000n), size: 0x200_0000n },
    prefetch: { base: base(4, 0xf0_0000_0000n), size: 0x1_0000_0000n },
    intxIrqBase: 44,
  };
}

/** The same facts as the backend QEMU is told them. */
function backendReading(b: PciHostBridge) {
  const args = backendMachineArgs(b);
  const opts = Object.fromEntries(args[1]!.split(',').slice(1).map((kv) => kv.split('=') as [string, string]));
  return {
    mode: b.mode,
    ecam: { base: BigInt(opts['pci-ecam-base']!), size: BigInt(opts['pci-ecam-size']!) },
    mmio: { base: BigInt(opts['pci-mmio-base']!), size: BigInt(opts['pci-mmio-size']!) },
    prefetch: { base: BigInt(opts['pci-mmio-high-base']!), size: BigInt(opts['pci-mmio-high-size']!) },
    intxIrqBase: Number(opts['pci-intx-irq-base']),
  };
}

async function fdtget(dtb: string, type: 's' | 'x', node: string, property: string): Promise<string | undefined> {
  const r = await run('fdtget', ['-t', type, dtb, node, property], { allowFailure: true });
  return r.exitCode === 0 ? r.stdout.trim() : undefined;
}

describe("Xen's own node in the real xen.dtb", () => {
  const LAYOUTS: [string, VirtioPciWindows | undefined][] = [
    ["Xen's defaults", undefined],
    ['bases moved below the 44-bit limit', { ecam: { base: 0x8_0000_0000n, size: 0x1000_0000n }, mmio: { base: 0x8_1000_0000n, size: 0x200_0000n }, prefetch: { base: 0x9_0000_0000n, size: 0x1_0000_0000n } }],
    ['everything below 8 GiB', { ecam: { base: 0xa000_0000n, size: 0x1000_0000n }, mmio: { base: 0xb000_0000n, size: 0x200_0000n }, prefetch: { base: 0x1_0000_0000n, size: 0x1_0000_0000n } }],
    ['only the ECAM moved', { ecam: { base: 0xe0_0000_0000n, size: 0x1000_0000n } }],
  ];

  for (const [i, [name, windows]] of LAYOUTS.entries()) {
    it(`agrees with the backend's -M xenpvh options: ${name}`, async () => {
      const mode = i % 2 ? 'grants' : 'foreign';
      const spec = domU1(windows, undefined, mode);
      const media = await buildBootMedia({ rig: withCaps('dom0less-virtio-pci'), domains: [spec], boot: 'direct', workDir: join(work, `layout-${i}`), sshPort: 0 });
      expect(media.hostBridges.map((b) => b.node)).toEqual(['xen']);
      expect(media.passthrough).toEqual([]);
      const value = await fdtget(media.dtbPath, 's', '/chosen/domU1', 'virtio-pci');
      expect(value).toBe(mode === 'grants' ? 'grants' : 'enabled');
      const rangesText = await fdtget(media.dtbPath, 'x', '/chosen/domU1', 'virtio-pci-ranges');
      if (windows === undefined) expect(rangesText).toBeUndefined();
      else expect(rangesText?.split(/\s+/)).toHaveLength(6);
      const ranges = rangesText?.split(/\s+/).map((c) => parseInt(c, 16));
      expect(backendReading(bridge(spec))).toEqual(xenReading(value!, ranges));
      // Xen writes the bridge: no partial DT module, no trap-unmapped-accesses.
      const dts = (await run('dtc', ['-q', '-I', 'dtb', '-O', 'dts', media.dtbPath])).stdout;
      expect(dts).not.toContain('multiboot,device-tree');
      expect(dts).not.toContain('trap-unmapped-accesses');
    }, 60_000);
  }

  it('is what the u-boot path boots too, and plan says who writes each bridge and why', async () => {
    const domains = [domU1(), { ...TWO_DOMUS[1]!, virtioPci: 'grants' as const, virtioPciNode: 'passthrough' as const }];
    const both = withCaps('dom0less-virtio-pci', 'trap-unmapped-accesses');
    const media = await buildBootMedia({ rig: both, domains, boot: 'uboot', workDir: join(work, 'uboot-both'), sshPort: 0 });
    expect(await fdtget(media.dtbPath, 's', '/chosen/domU1', 'virtio-pci')).toBe('enabled');
    expect(await fdtget(media.dtbPath, 's', '/chosen/domU2', 'virtio-pci')).toBeUndefined();
    expect(await fdtget(media.dtbPath, 's', '/chosen/domU2/module-device-tree', 'xen,uefi-binary')).toBe('pt-domU2.dtb');
    expect(media.passthrough.map((p) => p.domain)).toEqual(['domU2']);

    const text = describeBootMedia(planBootMedia({ rig: both, domains, boot: 'uboot', workDir: join(work, 'never'), sshPort: 0 }));
    expect(text).toContain('## virtio-pci host bridge of domU1 (foreign): Xen writes it (the dom0less virtio-pci property');
    expect(text).toContain('## virtio-pci host bridge of domU2 (grants): our partial DT (below)');
    expect(text).toContain('why: asked for by the scenario (node: passthrough)');
    expect(text).toContain('virtio-pci = "enabled";');
    expect(text.match(/-M xenpvh,/g)).toHaveLength(2);
  }, 60_000);
});
