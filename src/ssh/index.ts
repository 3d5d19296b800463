// ssh/: the driver to dom0's sshd. Scenario steps use Dom0Ssh's protocol (exec, run,
// background, close) and BackgroundProcess (exited, onDeath, stop); the run's key pair
// comes from image/'s writeRunKeyPair, which also puts it into dom0's authorized_keys.
export {
  BACKGROUND_DEFAULTS,
  BackgroundProcess,
  backgroundScript,
  describeExit,
  stopGroupScript,
  type BackgroundExit,
  type BackgroundOptions,
  type DeathListener,
} from './background.js';
export { shellQuote } from '../host/shell.js';
export { Dom0CommandError, type ExecOptions, type ExecResult } from './command.js';
export { CONNECT_DEFAULTS, SshUnreachable, type AttemptFailure, type ConnectOptions } from './connect.js';
export { CLOSE_DEFAULTS, connectDom0, Dom0Ssh } from './dom0-ssh.js';
export { algorithmOf, fingerprintOf, HostKeyChanged, HostKeyPin } from './host-key.js';
