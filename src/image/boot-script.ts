// The u-boot script (boot.scr source). u-boot 2023.01's default bootcmd (distro boot)
// scans virtio 0's first partition for /boot.scr and sources it at ${scriptaddr}.

export const BOOT_SCRIPT_MARKER = 'xen-pvh-virtio: boot.scr starting Xen';

export interface BootScriptInput {
  /** The boot partition, as u-boot names it (the boot disk is the first virtio-blk device). */
  device: string;
  dtbFile: string;
  xenEfiFile: string;
}

/** Loads xen.dtb, then xen.efi last (bootefi runs the image loaded last, docs/rig-facts.md, "u-boot"). */
export function bootScript(input: BootScriptInput): string {
  return [
    `echo ${BOOT_SCRIPT_MARKER}`,
    'setenv fdt_addr 0x44000000',
    'setenv kernel_addr 0x42000000',
    `load ${input.device} \${fdt_addr} ${input.dtbFile}`,
    `load ${input.device} \${kernel_addr} ${input.xenEfiFile}`,
    'bootefi ${kernel_addr} ${fdt_addr}',
    '',
  ].join('\n');
}
