// A real QEMU with u-boot only (no disk): enough to see firmware output on the serial
// socket, talk QMP, and check that every way of stopping leaves no process behind.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { InfraError } from '../../../src/errors.js';
import {
  bootArgs,
  liveProcessCount,
  QEMU_BINARY,
  reservePort,
  startMachine,
  stopMachine,
  type Machine,
  type MachineLaunch,
} from '../../../src/machine/index.js';

const UBOOT = '/usr/lib/u-boot/qemu_arm64/u-boot.bin';
let work: string;
let machine: Machine | undefined;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'xpv-machine-'));
});
afterEach(async () => {
  if (machine) await stopMachine(machine);
  machine = undefined;
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

async function launch(): Promise<MachineLaunch> {
  const sshPort = await reservePort(0);
  const serialSocket = join(work, 'serial.sock');
  const qmpSocket = join(work, 'qmp.sock');
  const args = bootArgs({
    shape: { memoryMiB: 256, cpus: 1, bios: UBOOT, accel: 'tcg' },
    target: { kind: 'uboot', disks: [] },
    serialSocket,
    qmpSocket,
    sshPort,
  });
  return { binary: QEMU_BINARY, args, serialSocket, qmpSocket, sshPort };
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function waitForSerial(m: Machine, text: string, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (!m.serial.captured().includes(text)) {
    if (Date.now() > deadline) throw new Error(`no "${text}" on the serial within ${ms} ms:\n${m.serial.tail()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('startMachine / stopMachine', () => {
  it('streams the serial into memory and a raw log, answers QMP, and stops cleanly', async () => {
    const sigintBefore = process.listenerCount('SIGINT');
    const m = (machine = await startMachine(await launch(), { logDir: join(work, 'logs') }));
    expect(alive(m.pid)).toBe(true);
    // While QEMU lives, SIGINT/SIGTERM handlers are there to kill it; afterwards they are gone.
    expect(process.listenerCount('SIGINT')).toBe(sigintBefore + 1);
    expect(process.listenerCount('SIGTERM')).toBeGreaterThan(0);
    await waitForSerial(m, 'U-Boot 2023.01', 30_000);
    expect(await m.qmp.execute('query-status', undefined, 5_000)).toMatchObject({ running: true });
    const exit = await stopMachine(m);
    expect(exit).toEqual({ code: 0, signal: null });
    expect(alive(m.pid)).toBe(false);
    expect(liveProcessCount()).toBe(0);
    expect(process.listenerCount('SIGINT')).toBe(sigintBefore);
    expect(await stopMachine(m)).toEqual(exit);
    expect((await readFile(m.logFiles.serial)).toString()).toContain('U-Boot 2023.01');
  }, 60_000);

  it('escalates to SIGKILL when QEMU answers neither QMP nor SIGTERM', async () => {
    const m = (machine = await startMachine(await launch(), { logDir: join(work, 'logs-stuck') }));
    process.kill(m.pid, 'SIGSTOP');
    const exit = await stopMachine(m, { stageDeadlineMs: 500 });
    expect(exit.signal).toBe('SIGKILL');
    expect(alive(m.pid)).toBe(false);
    expect(liveProcessCount()).toBe(0);
  }, 30_000);

  it('turns a QEMU that exits at start into an InfraError with what QEMU said', async () => {
    const l = await launch();
    const bad = { ...l, args: [...l.args, '-device', 'no-such-device'] };
    const err = await startMachine(bad, { logDir: join(work, 'logs-bad') }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InfraError);
    expect((err as Error).message).toMatch(/exited during start[\s\S]*no-such-device/);
    expect(liveProcessCount()).toBe(0);
  }, 30_000);
});
