import { createRequire as __xpvCreateRequire } from 'node:module'; import { fileURLToPath as __xpvFileURLToPath } from 'node:url'; import { dirname as __xpvDirname } from 'node:path'; const require = __xpvCreateRequire(import.meta.url); const __xpvFilename = __xpvFileURLToPath(import.meta.url); const __xpvDir = __xpvDirname(__xpvFilename);
import {
  isRemoteCacheUsable
} from "./chunks/chunk-SYCOGUQI.js";
import {
  STATE,
  getState,
  identify,
  info,
  parseIdentities,
  saveRemote,
  stillOurs,
  warning
} from "./chunks/chunk-73YV2RQS.js";

// src/action/post-impl.ts
async function stopLeftovers() {
  const recorded = parseIdentities(getState(STATE.pids));
  const ours = recorded.filter((p) => {
    if (!identify(p.pid)) return false;
    if (stillOurs(p)) return true;
    info(`process ${p.pid} is no longer the one the main step started (${short(p.command)}): left alone`);
    return false;
  });
  for (const p of ours) {
    info(`stopping process ${p.pid} (${short(p.command)}) left by the main step`);
    process.kill(p.pid, "SIGTERM");
  }
  const deadline = Date.now() + 5e3;
  while (ours.some(stillOurs) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  for (const p of ours.filter(stillOurs)) {
    info(`process ${p.pid} ignored SIGTERM for 5 s: SIGKILL`);
    process.kill(p.pid, "SIGKILL");
  }
}
function short(command) {
  return command.length > 120 ? `${command.slice(0, 117)}...` : command;
}
async function postImpl() {
  await stopLeftovers();
  const key = getState(STATE.rigKey);
  const dir = getState(STATE.rigDir);
  const stateKey = getState(STATE.stateKey);
  const stateDir = getState(STATE.stateDir);
  const rigToSave = key && dir && getState(STATE.rigCacheHit) !== "true";
  if (!rigToSave && !(stateKey && stateDir)) return;
  if (!isRemoteCacheUsable()) {
    warning("no Actions cache service here: the rig and the booted system will be made afresh next time");
    return;
  }
  const log = (line) => info(line);
  if (rigToSave) await saveRemote(key, dir, log).catch((e) => warning(`could not save the rig to the Actions cache: ${e.message}`));
  if (stateKey && stateDir) {
    await saveRemote(stateKey, stateDir, log, "state").catch((e) => warning(`could not save the booted system to the Actions cache: ${e.message}`));
  }
}

// src/post.ts
await postImpl();
