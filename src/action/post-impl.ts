// The action's post step, run even after failure or cancellation: stop anything the main
// step left running, then save a freshly built rig to the Actions cache.
import * as core from '@actions/core';
import { STATE } from '../config/options.js';
import { saveRemote } from '../rig/index.js';
import { isRemoteCacheUsable } from './cache-service.js';
import { identify, parseIdentities, stillOurs } from '../host/process-identity.js';

/**
 * Stops what the main step started and left running, but only a process that is still the
 * one it recorded (same start time and command line): an id reused by someone else's
 * process since is left alone, and the log says so.
 */
async function stopLeftovers(): Promise<void> {
  const recorded = parseIdentities(core.getState(STATE.pids));
  const ours = recorded.filter((p) => {
    if (!identify(p.pid)) return false;
    if (stillOurs(p)) return true;
    core.info(`process ${p.pid} is no longer the one the main step started (${short(p.command)}): left alone`);
    return false;
  });
  for (const p of ours) {
    core.info(`stopping process ${p.pid} (${short(p.command)}) left by the main step`);
    process.kill(p.pid, 'SIGTERM');
  }
  const deadline = Date.now() + 5000;
  while (ours.some(stillOurs) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  for (const p of ours.filter(stillOurs)) {
    core.info(`process ${p.pid} ignored SIGTERM for 5 s: SIGKILL`);
    process.kill(p.pid, 'SIGKILL');
  }
}

function short(command: string): string {
  return command.length > 120 ? `${command.slice(0, 117)}...` : command;
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
