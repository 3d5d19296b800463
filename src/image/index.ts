// image/: boot media for one run (xen.dtb, boot.scr, boot disk, SSH key), from the domain
// specs and the rig, and the virtio-pci bridge each domU gets (pt.dtb, backend QEMU argv).
// Planning is pure (planBootMedia, describeBootMedia, resolvePciHostBridge); buildBootMedia writes.
export {
  BOOT_FILES, UBOOT_BOOT_DEVICE, PASSTHROUGH_DTB_RESERVE, buildBootMedia, passthroughDtbFile, planBootMedia,
  type BootMedia, type BootMediaRequest, type BuildLog, type HostBridgePlan, type PassthroughDt,
} from './media.js';
export { describeBootMedia } from './describe.js';
export { resolveLayout, type DomainLayout, type DomULayout, type LayoutOptions } from './layout.js';
export { chosenFragment, DEFAULT_STDOUT_PATH, type ChosenInput, type DomainModules, type ModuleRef } from './dts.js';
export { bootScript, BOOT_SCRIPT_MARKER, type BootScriptInput } from './boot-script.js';
export { placeModules, MODULE_ALIGN, MODULE_BASE, RAM_BASE, type ModuleFile, type ModulePlacement } from './placement.js';
export { planBootDisk, sfdiskScript, PARTITION_START_SECTOR, SECTOR, type DiskFile, type DiskLayout } from './disk.js';
export { authorizedKeysArchive, newcArchive, type CpioEntry } from './cpio.js';
export { writeRunKeyPair, type SshKeyPair } from './ssh-key.js';
export {
  DEFAULT_PCI_WINDOWS, formatWindow, guestRamBanks, intxRoutes, resolvePciHostBridge, PCI_ECAM_SIZE,
  type IntxRoute, type PciHostBridge, type PciWindowName,
} from './pci.js';
export { passthroughDts, pcieNodeName } from './passthrough-dts.js';
export {
  chooseHostBridge, xenLayoutMismatches, xenVirtioPciLines, xenVirtioPciProperty, XEN_VIRTIO_PCI_LAYOUT,
  type HostBridgeChoice, type XenVirtioPciProperty,
} from './host-bridge.js';
export {
  BACKEND_TRACE_EVENTS, backendMachineArgs, backendQemuArgs, backendReadiness,
  type BackendArgsInput, type BackendReadiness,
} from './backend-args.js';
