// Owns one outer QEMU process: spawn (argv array), serial socket, QMP, and a teardown
// that always ends the process (QMP quit, then SIGTERM, then SIGKILL).
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { InfraError } from '../errors.js';
import { QmpClient } from './qmp.js';
import { forgetProcess, watchProcess } from './reaper.js';
import { SerialPort } from './serial.js';
import { connectWhenListening } from './socket.js';

/** Everything needed to start the machine: the argv and what it names. Plain data. */
export interface MachineLaunch {
  binary: string;
  args: string[];
  serialSocket: string;
  qmpSocket: string;
  sshPort: number;
}

export interface MachineExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface StartOptions {
  /** serial.raw (the exact bytes) and qemu.log (QEMU's own stdout/stderr) go here. */
  logDir: string;
  /** How long QEMU may take to open its sockets. */
  startDeadlineMs?: number;
}

export interface Machine {
  readonly pid: number;
  readonly sshPort: number;
  readonly serial: SerialPort;
  readonly qmp: QmpClient;
  readonly exited: Promise<MachineExit>;
  readonly logFiles: { serial: string; qemu: string };
  /** The last lines QEMU itself printed (not the guest), for error messages. */
  qemuOutputTail(): string;
  /** @internal used by stopMachine */
  readonly child: ChildProcess;
}

export async function startMachine(launch: MachineLaunch, opts: StartOptions): Promise<Machine> {
  await mkdir(opts.logDir, { recursive: true });
  const startDeadlineMs = opts.startDeadlineMs ?? 15_000;
  const qemuLog = join(opts.logDir, 'qemu.log');
  const serialLog = join(opts.logDir, 'serial.raw');
  const qemuOut = createWriteStream(qemuLog, { flags: 'a' });
  let qemuText = '';
  // A stale socket file from an earlier run would accept nothing and waste the deadline.
  await rm(launch.serialSocket, { force: true });
  await rm(launch.qmpSocket, { force: true });

  const child = spawn(launch.binary, launch.args, { stdio: ['ignore', 'pipe', 'pipe'] });
  watchProcess(child);
  const exited = new Promise<MachineExit>((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
  });
  const spawnFailed = new Promise<never>((_, reject) => {
    child.once('error', (err) => reject(new InfraError(`cannot start ${launch.binary}: ${err.message}`, { cause: err })));
  });
  // Raced below; a spawn error after the race is over is reported through `exited`.
  spawnFailed.catch(() => undefined);
  const collect = (chunk: Buffer) => {
    qemuOut.write(chunk);
    qemuText = (qemuText + chunk.toString('utf8')).slice(-8192);
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  const qemuOutputTail = () => qemuText.trim().split('\n').slice(-20).join('\n');
  const exitError = (e: MachineExit) =>
    new InfraError(`${launch.binary} exited during start (code ${e.code}, signal ${e.signal}):\n${qemuOutputTail()}`, {
      logFile: qemuLog,
    });
  const exitedEarly = exited.then((e) => {
    throw exitError(e);
  });
  // Raced below against the QMP handshake; once started, an exit is the caller's to watch.
  exitedEarly.catch(() => undefined);

  let serial: SerialPort | undefined;
  try {
    const started = Date.now();
    const remaining = () => Math.max(1, startDeadlineMs - (Date.now() - started));
    const serialSocket = await Promise.race([
      connectWhenListening(launch.serialSocket, startDeadlineMs, () => isRunning(child)),
      exitedEarly,
      spawnFailed,
    ]);
    serial = new SerialPort(serialSocket, serialLog);
    const qmp = await Promise.race([QmpClient.connect(launch.qmpSocket, remaining(), () => isRunning(child)), exitedEarly, spawnFailed]);
    const port = serial;
    void exited.then(() => {
      qmp.close();
      void port.close();
      qemuOut.end();
    });
    return {
      pid: child.pid as number,
      sshPort: launch.sshPort,
      serial: port,
      qmp,
      exited,
      logFiles: { serial: serialLog, qemu: qemuLog },
      qemuOutputTail,
      child,
    };
  } catch (err) {
    // A socket error is usually QEMU exiting; its own words say more than ECONNRESET.
    const exitedAnyway = await exitsWithin(exited, 1_000);
    await killAndWait(child, exited);
    await serial?.close();
    qemuOut.end();
    throw exitedAnyway ? exitError(await exited) : err;
  }
}

export interface StopOptions {
  /** Deadline for each stage (QMP quit, SIGTERM, SIGKILL). */
  stageDeadlineMs?: number;
}

/** Ends the machine: QMP quit, then SIGTERM, then SIGKILL. Safe to call any number of times. */
export async function stopMachine(machine: Machine, opts: StopOptions = {}): Promise<MachineExit> {
  const stageMs = opts.stageDeadlineMs ?? 3_000;
  const { child } = machine;
  if (!isRunning(child)) return finish(machine);
  try {
    await machine.qmp.execute('quit', undefined, stageMs);
  } catch {
    // QEMU may close the socket before answering quit; the exit wait below decides.
  }
  if (await exitsWithin(machine.exited, stageMs)) return finish(machine);
  child.kill('SIGTERM');
  if (await exitsWithin(machine.exited, stageMs)) return finish(machine);
  child.kill('SIGKILL');
  if (await exitsWithin(machine.exited, stageMs)) return finish(machine);
  throw new InfraError(`QEMU (pid ${machine.pid}) did not exit after SIGKILL within ${stageMs} ms`);
}

async function finish(machine: Machine): Promise<MachineExit> {
  const exit = await machine.exited;
  forgetProcess(machine.child);
  machine.qmp.close();
  await machine.serial.close();
  return exit;
}

function isRunning(child: ChildProcess): boolean {
  return child.exitCode === null && child.signalCode === null;
}

async function exitsWithin(exited: Promise<MachineExit>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
  const done = await Promise.race([exited.then(() => true as const), timeout]);
  clearTimeout(timer);
  return done;
}

async function killAndWait(child: ChildProcess, exited: Promise<MachineExit>): Promise<void> {
  if (child.pid === undefined) {
    forgetProcess(child);
    return;
  }
  if (isRunning(child)) child.kill('SIGKILL');
  await exitsWithin(exited, 5_000);
  forgetProcess(child);
}

