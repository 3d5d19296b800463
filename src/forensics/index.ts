// forensics/: evidence for a developer after a run. At boot, the repro folder (the exact QEMU
// command, device trees, the per-run media and a tested replay.sh); after a failed scenario,
// what dom0, Xen and the host logs say, collected within a fixed budget.
export {
  collectForensics, DOM0_COMMANDS, FORENSICS_LIMITS, XEN_DEBUG_KEYS,
  type ForensicsLimits, type ForensicsPort, type ForensicsRecord,
} from './collect.js';
export { filesIn, REPRO_COPY_LIMIT, writeRepro, type ReproRecord } from './repro.js';
export { replayScript, type ReplayInput } from './replay-script.js';
export { attachCommands, keepAlive, type AttachPoint, type KeepAliveEnd, type KeptMachine } from './keep-alive.js';
