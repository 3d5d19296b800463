// Keeps a list of live QEMU processes so that none outlives this process: on SIGINT/SIGTERM
// (and at exit) each one is killed synchronously, because async QMP cannot finish by then.
import type { ChildProcess } from 'node:child_process';

const live = new Set<ChildProcess>();
let installed = false;

function killAll(): void {
  for (const child of live) {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
  live.clear();
}

function onSignal(signal: NodeJS.Signals): void {
  killAll();
  uninstall();
  // Re-raise so the process ends the way it would have without our handler.
  process.kill(process.pid, signal);
}

function install(): void {
  if (installed) return;
  installed = true;
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.on('exit', killAll);
}

function uninstall(): void {
  if (!installed) return;
  installed = false;
  process.off('SIGINT', onSignal);
  process.off('SIGTERM', onSignal);
  process.off('exit', killAll);
}

export function watchProcess(child: ChildProcess): void {
  live.add(child);
  install();
  child.once('exit', () => forgetProcess(child));
}

export function forgetProcess(child: ChildProcess): void {
  live.delete(child);
  if (live.size === 0) uninstall();
}

/** How many QEMU processes are still owned by this process (tests check it drops to 0). */
export function liveProcessCount(): number {
  return live.size;
}
