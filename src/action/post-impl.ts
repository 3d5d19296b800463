// The action's post step, run even after failure or cancellation: stop anything the main
// step left running, then save a freshly built rig to the Actions cache.
import * as core from '@actions/core';
import { STATE } from '../config/options.js';
import { saveRemote } from '../rig/index.js';
import { isRemoteCacheUsable } from './cache-service.js';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function stopLeftovers(): Promise<void> {
  const pids = (core.getState(STATE.pids) || '')
    .split(',')
    .map(Number)
    .filter((p) => Number.isInteger(p) && p > 1 && alive(p));
  for (const pid of pids) {
    core.info(`stopping process ${pid} left by the main step`);
    process.kill(pid, 'SIGTERM');
  }
  const deadline = Date.now() + 5000;
  while (pids.some(alive) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  for (const pid of pids.filter(alive)) process.kill(pid, 'SIGKILL');
}

export async function postImpl(): Promise<void> {
  await stopLeftovers();
  const key = core.getState(STATE.rigKey);
  const dir = core.getState(STATE.rigDir);
  const stateKey = core.getState(STATE.stateKey);
  const stateDir = core.getState(STATE.stateDir);
  const rigToSave = key && dir && core.getState(STATE.rigCacheHit) !== 'true';
  if (!rigToSave && !(stateKey && stateDir)) return;
  if (!isRemoteCacheUsable()) {
    core.warning('no Actions cache service here: the rig and the booted system will be made afresh next time');
    return;
  }
  const log = (line: string) => core.info(line);
  // The rig first: a booted system is useless without the rig it was booted from.
  if (rigToSave) await saveRemote(key, dir, log).catch((e: unknown) => core.warning(`could not save the rig to the Actions cache: ${(e as Error).message}`));
  if (stateKey && stateDir) {
    await saveRemote(stateKey, stateDir, log, 'state').catch((e: unknown) => core.warning(`could not save the booted system to the Actions cache: ${(e as Error).message}`));
  }
}
