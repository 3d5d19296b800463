// machine/: the outer QEMU. Pure command lines in qemu-args.ts; the process in machine.ts.
export {
  QEMU_BINARY,
  bootArgs,
  dumpDtbArgs,
  formatCommandLine,
  hex,
  machineArgs,
  optValue,
  type Accel,
  type BootArgsInput,
  type BootTarget,
  type LoaderBlob,
  type MachineShape,
} from './qemu-args.js';
export { reservePort } from './port.js';
export { socketDirFor } from './socket-dir.js';
export { startMachine, stopMachine, type Machine, type MachineExit, type MachineLaunch, type StartOptions, type StopOptions } from './machine.js';
export { liveProcessCount } from './reaper.js';
export { QmpClient } from './qmp.js';
export { SerialPort, type SerialListener } from './serial.js';
