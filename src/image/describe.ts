// The human-readable plan of a boot: what `xen-pvh-virtio plan` prints. Pure.
import { formatCommandLine, hex, QEMU_BINARY } from '../machine/qemu-args.js';
import { backendMachineArgs } from './backend-args.js';
import { SECTOR } from './disk.js';
import type { BootMedia } from './media.js';

export function describeBootMedia(media: BootMedia): string {
  const { layout } = media;
  const out: string[] = [];
  out.push(`# Boot path: ${media.boot}`);
  out.push(
    `machine: ${layout.machine.memoryMiB} MiB, ${layout.machine.cpus} cpus, accel ${media.shape.accel}` +
      `; dom0 ${layout.dom0.memoryMiB} MiB` +
      layout.domUs.map((d) => `; ${d.name} (domid ${d.domid}) ${d.memoryMiB} MiB ${d.cpus} cpu${d.cpus > 1 ? 's' : ''}`).join(''),
  );
  out.push('', '## Device tree: added to the machine DT (dumped with the same machine options)', media.dtsFragment.trimEnd());
  for (const b of media.hostBridges) {
    const who = b.node === 'xen' ? "Xen writes it (the dom0less virtio-pci property in the domain's node above)" : 'our partial DT (below)';
    out.push('', `## virtio-pci host bridge of ${b.domain} (${b.bridge.mode}): ${who}`, `why: ${b.why}`);
    const p = media.passthrough.find((x) => x.domain === b.domain);
    if (p) out.push('', `## Passthrough DT for ${p.domain}: ${p.file}, dtc from ${p.dtsPath}`, p.dts.trimEnd());
    out.push(
      '',
      `## Backend QEMU for ${b.domain}, started in dom0 by a backend step (its devices are appended)`,
      formatCommandLine(QEMU_BINARY, backendMachineArgs(b.bridge)),
    );
  }
  if (media.placements.length > 0) {
    out.push('', '## Boot modules (QEMU loader, guest-physical addresses)');
    for (const p of media.placements) {
      out.push(`${hex(p.addr).padEnd(12)} ${String(p.size).padStart(10)} bytes  ${p.domain} ${p.kind}  ${p.file}`);
    }
  }
  if (media.bootScript) {
    out.push('', `## u-boot script (${media.bootScript.path}, from mkimage -T script)`, media.bootScript.text.trimEnd());
  }
  for (const disk of media.disks) {
    const p = disk.partition;
    out.push(
      '',
      `## Disk ${disk.path}: raw, ${disk.sizeBytes / 1024 / 1024} MiB, DOS label`,
      `partition ${p.index}: start sector ${p.startSector} (byte ${p.startSector * SECTOR}), ${p.sizeBytes / 1024 / 1024} MiB, ${p.fsType} "${p.label}", bootable`,
      ...disk.files.map((f) => `  /${f.name.padEnd(14)} ${f.source}`),
    );
  }
  out.push('', '## QEMU', formatCommandLine(media.launch.binary, media.launch.args));
  out.push('', `SSH: 127.0.0.1:${media.launch.sshPort === 0 ? '<free port>' : media.launch.sshPort} -> dom0:22, key ${media.sshKey.privateKeyPath}`);
  return out.join('\n') + '\n';
}
