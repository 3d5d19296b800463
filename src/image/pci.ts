// A domU's virtio-pci host bridge, resolved once from its DomainSpec. Pure. The pt.dtb
// source (passthrough-dts.ts) and the backend QEMU's argv (backend-args.ts) are both
// derived from the PciHostBridge returned here, so the two can never disagree.
import type { AddressWindow, DomainSpec, VirtioPciMode } from '../config/types.js';
import { ConfigError } from '../errors.js';

/** QEMU's xenpvh machine exits for any other pci-ecam-size (256 buses × 1 MiB). */
export const PCI_ECAM_SIZE = 0x1000_0000n;

/** Upstream's windows (the July 2025 how-to and Xen's own virtio-pci layout). */
export const DEFAULT_PCI_WINDOWS = {
  ecam: { base: 0xf1_0000_0000n, size: PCI_ECAM_SIZE },
  mmio: { base: 0xf1_1000_0000n, size: 0x200_0000n },
  prefetch: { base: 0xf0_0000_0000n, size: 0x1_0000_0000n },
  /** GIC INTID 44 = SPI 12: the first interrupt past vPL011's and virtio-mmio's. */
  intxIrqBase: 44,
} as const;

/** Xen's arm64 guest memory map, from xen/include/public/arch-arm.h. */
export const GUEST_RAM0 = { base: 0x4000_0000n, size: 0xc000_0000n };
export const GUEST_RAM1 = { base: 0x2_0000_0000n, size: 0xfe_0000_0000n };
/** Xen's guest devices live below RAM0: GIC, vPL011, virtio-mmio, ACPI, grant table, magic pages. */
const GUEST_DEVICE_AREA = { base: 0n, size: GUEST_RAM0.base };
/**
 * The outer machine's CPU is a cortex-a57 (machine/qemu-args.ts), whose PARange is 44 bits;
 * Xen sizes every domU's stage-2 from it, so nothing at or above 2^44 can be mapped or trapped.
 */
export const GUEST_IPA_BITS = 44;
/** GUEST_VPL011_SPI is 32; GUEST_VIRTIO_MMIO_SPI_FIRST..LAST are 33..43, wired by the xenpvh QEMU. */
export const FIRST_FREE_GUEST_SPI = 44;
/** QEMU virt's GIC has 256 SPIs (INTIDs 32..287), and Xen gives a dom0less domU as many. */
export const LAST_GUEST_SPI = 287;
/** Windows other than ECAM start and end on 64 KiB, the largest arm64 page a domU kernel may use. */
export const PCI_WINDOW_ALIGN = 0x1_0000n;

export type PciWindowName = 'ecam' | 'mmio' | 'prefetch';

export interface PciHostBridge {
  /** The domU the bridge belongs to; the backend's -xen-domid, -m and -smp repeat these. */
  domain: { name: string; domid: number; memoryMiB: number; cpus: number };
  mode: VirtioPciMode;
  ecam: AddressWindow;
  /** 32-bit non-prefetchable memory window (identity-mapped: bus address = CPU address). */
  mmio: AddressWindow;
  /** 64-bit prefetchable memory window (identity-mapped too). */
  prefetch: AddressWindow;
  /** GIC INTID of INTA (QEMU's pci-intx-irq-base); INTB..INTD are the next three. */
  intxIrqBase: number;
}

export const hex64 = (n: bigint): string => `0x${n.toString(16)}`;

/** Inclusive range, as Xen and QEMU print them. */
export function formatWindow(w: AddressWindow): string {
  return `${hex64(w.base)}-${hex64(w.base + w.size - 1n)}`;
}

function overlaps(a: AddressWindow, b: AddressWindow): boolean {
  return a.base < b.base + b.size && b.base < a.base + a.size;
}

/** Where Xen puts the domU's RAM: the first 3 GiB in RAM0, the rest in RAM1. */
export function guestRamBanks(memoryMiB: number): AddressWindow[] {
  const total = BigInt(memoryMiB) * 0x10_0000n;
  const low = total < GUEST_RAM0.size ? total : GUEST_RAM0.size;
  const banks = [{ base: GUEST_RAM0.base, size: low }];
  if (total > low) banks.push({ base: GUEST_RAM1.base, size: total - low });
  return banks;
}

/** The bridge for a domain with virtio-pci, windows checked; undefined for a domain without. */
export function resolvePciHostBridge(spec: DomainSpec): PciHostBridge | undefined {
  if (spec.virtioPci === undefined) return undefined;
  const given = spec.virtioPciWindows ?? {};
  const bridge: PciHostBridge = {
    domain: { name: spec.name, domid: spec.domid, memoryMiB: spec.memoryMiB, cpus: spec.cpus },
    mode: spec.virtioPci,
    ecam: given.ecam ?? DEFAULT_PCI_WINDOWS.ecam,
    mmio: given.mmio ?? DEFAULT_PCI_WINDOWS.mmio,
    prefetch: given.prefetch ?? DEFAULT_PCI_WINDOWS.prefetch,
    intxIrqBase: given.intxIrqBase ?? DEFAULT_PCI_WINDOWS.intxIrqBase,
  };
  checkBridge(bridge);
  return bridge;
}

function checkBridge(b: PciHostBridge): void {
  const fail = (message: string): never => {
    throw new ConfigError(`domain ${b.domain.name}: virtio-pci ${message}`);
  };
  const names: PciWindowName[] = ['ecam', 'mmio', 'prefetch'];
  for (const name of names) {
    const w = b[name];
    if (w.size <= 0n) fail(`${name} window size must be more than 0`);
    if (w.base < 0n) fail(`${name} window base must not be negative`);
    if (name === 'ecam') {
      if (w.size !== PCI_ECAM_SIZE) {
        fail(`ecam window size ${hex64(w.size)}: QEMU's xenpvh machine only accepts ${hex64(PCI_ECAM_SIZE)} (256 buses of 1 MiB)`);
      }
      // PCIe's enhanced configuration mechanism decodes the bus number from address bits
      // 20..27, so the region must start on a boundary of its own size.
      if (w.base % w.size !== 0n) fail(`ecam window base ${hex64(w.base)} must be aligned to its size ${hex64(w.size)}`);
    } else {
      if (w.base % PCI_WINDOW_ALIGN !== 0n) fail(`${name} window base ${hex64(w.base)} must be a multiple of 64 KiB (0x10000)`);
      if (w.size % PCI_WINDOW_ALIGN !== 0n) fail(`${name} window size ${hex64(w.size)} must be a multiple of 64 KiB (0x10000)`);
    }
    if (overlaps(w, GUEST_DEVICE_AREA)) {
      fail(
        `${name} window ${formatWindow(w)} overlaps the first 1 GiB, where Xen's guest memory map ` +
          'puts the GIC, vPL011, virtio-mmio, grant table and magic pages',
      );
    }
    if (w.base + w.size > 1n << BigInt(GUEST_IPA_BITS)) {
      fail(
        `${name} window ${formatWindow(w)} ends beyond ${hex64((1n << BigInt(GUEST_IPA_BITS)) - 1n)}, ` +
          `the ${GUEST_IPA_BITS}-bit guest physical address space Xen gives domUs on this machine (cortex-a57)`,
      );
    }
  }
  for (let i = 0; i < names.length; i++) {
    for (let j = i + 1; j < names.length; j++) {
      const [x, y] = [names[i]!, names[j]!];
      if (overlaps(b[x], b[y])) fail(`${y} window ${formatWindow(b[y])} overlaps the ${x} window ${formatWindow(b[x])}`);
    }
  }
  for (const name of names) {
    for (const bank of guestRamBanks(b.domain.memoryMiB)) {
      if (overlaps(b[name], bank)) {
        fail(`${name} window ${formatWindow(b[name])} overlaps the domain's RAM ${formatWindow(bank)} (${b.domain.memoryMiB} MiB)`);
      }
    }
  }
  const irq = b.intxIrqBase;
  const last = LAST_GUEST_SPI - 3;
  if (!Number.isInteger(irq)) fail(`intx-irq-base ${irq} must be a whole number`);
  if (irq < FIRST_FREE_GUEST_SPI) {
    fail(
      `intx-irq-base ${irq}: INTA..INTD would be GIC INTIDs ${irq}..${irq + 3}, which collide with Xen's ` +
        `vPL011 (32) or virtio-mmio (33..43) interrupts; use ${FIRST_FREE_GUEST_SPI}..${last}`,
    );
  }
  if (irq > last) {
    fail(
      `intx-irq-base ${irq}: INTA..INTD would be GIC INTIDs ${irq}..${irq + 3}, past the GIC's last SPI ` +
        `${LAST_GUEST_SPI}; use ${FIRST_FREE_GUEST_SPI}..${last}`,
    );
  }
}

/** One interrupt-map row: a slot's pin and the GIC INTID QEMU's GPEX raises for it. */
export interface IntxRoute {
  /** PCI slot 0..3; slots 4 and up repeat the pattern (the map's mask keeps two slot bits). */
  slot: number;
  /** 1 = INTA .. 4 = INTD, as the PCI interrupt pin register numbers them. */
  pin: number;
  intid: number;
}

/** QEMU's GPEX swizzles a device's pin onto line (slot + pin) mod 4, raised as base + line. */
export function intxRoutes(bridge: PciHostBridge): IntxRoute[] {
  const routes: IntxRoute[] = [];
  for (let slot = 0; slot < 4; slot++) {
    for (let pin = 1; pin <= 4; pin++) {
      routes.push({ slot, pin, intid: bridge.intxIrqBase + ((slot + pin - 1) % 4) });
    }
  }
  return routes;
}
