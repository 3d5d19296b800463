// What an SSH step's profile says, from a scenario's dom0 driver over a stand-in link: a
// login counted once, by the command that waited for it, then each command's two round trips
// and its channel's times as the exec measured them.
import { describe, expect, it } from 'vitest';
import type { ExecResult } from '../../../src/ssh/index.js';
import { scenarioDrivers, type DriverParts } from '../../../src/system/drivers.js';

function partsWith(loginMs: number) {
  let connected = false;
  const commands: string[] = [];
  const ssh = {
    exec: async (command: string): Promise<ExecResult> => {
      commands.push(command);
      return { exitCode: 0, signal: null, stdout: 'ok\n', stderr: '', durationMs: 36, timing: { openMs: 5, runMs: 30, closeMs: 1 } };
    },
  };
  const dom0 = {
    get connected() {
      return connected;
    },
    get: async () => {
      if (!connected) await new Promise((r) => setTimeout(r, loginMs));
      connected = true;
      return ssh;
    },
  };
  // Only what the dom0 driver touches is real; the rest stands in, unused.
  const parts = {
    machine: { exited: new Promise(() => undefined) },
    console: { onFatal: () => () => undefined },
    dom0,
    consoleProtocol: {},
    domains: [],
    logsDir: '/nonexistent',
    logsRoot: '/nonexistent',
    info: () => undefined,
    machineGone: () => false,
  } as unknown as DriverParts;
  return { parts, commands };
}

describe("an SSH command's profile", () => {
  it('counts the login once, for the command that waited for it', async () => {
    const { parts, commands } = partsWith(50);
    const drivers = scenarioDrivers(parts, 's');
    const first = await (await drivers.dom0(5000)).run('xl list', 5000);
    expect(first).toMatchObject({ exitCode: 0, stdout: 'ok\n' });
    expect(first.profile).toMatchObject({ roundTrips: 3, openMs: 5, guestMs: 30, exitStatusMs: 1 });
    expect(first.profile!.connectMs).toBeGreaterThanOrEqual(45);
    const second = await (await drivers.dom0(5000)).run('true', 5000);
    expect(second.profile).toMatchObject({ roundTrips: 2, openMs: 5, guestMs: 30, exitStatusMs: 1 });
    expect(second.profile!.connectMs).toBeLessThan(20);
    expect(commands).toEqual(['xl list', 'true']);
  });
});
