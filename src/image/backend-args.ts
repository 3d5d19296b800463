// The device-model QEMU that dom0 runs for a domU's virtio-pci bridge: its argv and the
// trace lines that prove it serves. Pure; derived from the same PciHostBridge as pt.dtb.
import type { BackendDevice } from '../config/types.js';
import { ConfigError } from '../errors.js';
import { optValue } from '../machine/qemu-args.js';
import { hex64, type PciHostBridge } from './pci.js';

/**
 * QEMU's own readiness signals. device-model/<domid>/state = running is no proof: QEMU
 * writes it even when it failed to create its IOREQ server (docs/rig-facts.md, "Backend readiness").
 */
export const BACKEND_TRACE_EVENTS = ['xen_ioreq_server_create', 'xen_map_mmio_range', 'xen_map_pcidev'] as const;

export interface BackendArgsInput {
  bridge: PciHostBridge;
  devices: readonly BackendDevice[];
  /** dom0 paths of the raw images behind the virtio-blk devices, in the order they appear. */
  disks?: readonly string[];
  /** Where QEMU's log, and so the trace lines, go (-D); stderr when absent. */
  logFile?: string;
}

/** -M xenpvh with the bridge's windows, and the options that tie QEMU to the domU. */
export function backendMachineArgs(bridge: PciHostBridge): string[] {
  const { ecam, mmio, prefetch, domain } = bridge;
  const machine = [
    'xenpvh',
    `pci-ecam-base=${hex64(ecam.base)}`,
    `pci-ecam-size=${hex64(ecam.size)}`,
    `pci-mmio-base=${hex64(mmio.base)}`,
    `pci-mmio-size=${hex64(mmio.size)}`,
    `pci-mmio-high-base=${hex64(prefetch.base)}`,
    `pci-mmio-high-size=${hex64(prefetch.size)}`,
    `pci-intx-irq-base=${bridge.intxIrqBase}`,
  ];
  return [
    '-M', machine.join(','),
    '-xen-domid', String(domain.domid),
    '-xen-attach',
    '-no-shutdown',
    '-display', 'none',
    // QEMU serves one IOREQ slot per vCPU it knows of: all of the domU's, or some would hang.
    '-smp', `${domain.cpus},maxcpus=${domain.cpus}`,
    // QEMU maps the domU's RAM window from -m; it must be the domU's memory exactly.
    '-m', `${domain.memoryMiB}M`,
  ];
}

export function backendQemuArgs(input: BackendArgsInput): string[] {
  const { bridge, devices } = input;
  const disks = input.disks ?? [];
  const grants = bridge.mode === 'grants';
  const args = backendMachineArgs(bridge);
  const blkCount = devices.filter((d) => d === 'virtio-blk').length;
  if (blkCount > disks.length) {
    throw new ConfigError(
      `domain ${bridge.domain.name}: the backend has ${blkCount} virtio-blk device${blkCount > 1 ? 's' : ''} but ${disks.length} disk image${disks.length === 1 ? '' : 's'} in dom0`,
    );
  }
  // Grant-based virtio needs a modern-only device that uses the platform's DMA ops (grants).
  if (grants) args.push('-global', 'virtio-pci.disable-legacy=on');
  const globals = new Set<string>();
  let nets = 0;
  let blks = 0;
  for (const device of devices) {
    if (device === 'virtio-net') {
      const id = `net${nets++}`;
      // romfile= keeps QEMU from loading an option ROM that a Debian-source build lacks.
      args.push('-netdev', `user,id=${id}`, '-device', `virtio-net-pci,netdev=${id},romfile=`);
      if (grants) globals.add('virtio-net-device.iommu_platform=on');
    } else {
      const id = `blk${blks}`;
      args.push('-drive', `file=${optValue(disks[blks] as string)},if=none,id=${id},format=raw`, '-device', `virtio-blk-pci,drive=${id}`);
      blks++;
      if (grants) globals.add('virtio-blk-device.iommu_platform=on');
    }
  }
  for (const g of globals) args.push('-global', g);
  for (const event of BACKEND_TRACE_EVENTS) args.push('-trace', event);
  // Timestamps on the trace lines let a report say how long the backend took to serve.
  args.push('-msg', 'timestamp=on');
  if (input.logFile !== undefined) args.push('-D', input.logFile);
  return args;
}

/** What the backend step waits on in QEMU's output (QEMU built with the log trace backend). */
export interface BackendReadiness {
  traceEvents: readonly string[];
  /** QEMU registered an IOREQ server with Xen for the domU. */
  ioreqServerCreated: RegExp;
  /** The IOREQ server took the bridge's ECAM: config accesses now reach QEMU. */
  ecamMapped: RegExp;
  /** QEMU runs on but serves nothing (stock Xen without CONFIG_IOREQ_SERVER). */
  ioreqFailed: RegExp;
}

export function backendReadiness(bridge: PciHostBridge): BackendReadiness {
  return {
    traceEvents: BACKEND_TRACE_EVENTS,
    ioreqServerCreated: /\bxen_ioreq_server_create id: \d+/,
    // QEMU prints a section's start and inclusive end; the ECAM maps as one section (measured).
    ecamMapped: new RegExp(
      `\\bxen_map_mmio_range id: \\d+ start: ${hex64(bridge.ecam.base)} end: ${hex64(bridge.ecam.base + bridge.ecam.size - 1n)}\\b`,
    ),
    ioreqFailed: /xen: failed to create ioreq server/,
  };
}
