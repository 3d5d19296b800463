// Turning SIGINT/SIGTERM into an orderly end of the run, for the CLI and the action alike.

/**
 * SIGINT/SIGTERM end the run cleanly: the machine stops (machine/ kills QEMU at once), the
 * running step fails, and the reports are still written. A run that cannot finish within
 * a grace period is ended anyway.
 */
export function cancelOnSignals(io: { err(text: string): void }, graceMs = 20_000): { signal: AbortSignal; dispose: () => void } {
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const onSignal = (signal: NodeJS.Signals) => {
    if (controller.signal.aborted) return;
    io.err(`${signal}: stopping the machine and writing the reports\n`);
    controller.abort(signal);
    timer = setTimeout(() => process.exit(130), graceMs);
    timer.unref();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return {
    signal: controller.signal,
    dispose: () => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      if (timer) clearTimeout(timer);
    },
  };
}
