import { createRequire as __xpvCreateRequire } from 'node:module'; import { fileURLToPath as __xpvFileURLToPath } from 'node:url'; import { dirname as __xpvDirname } from 'node:path'; const require = __xpvCreateRequire(import.meta.url); const __xpvFilename = __xpvFileURLToPath(import.meta.url); const __xpvDir = __xpvDirname(__xpvFilename);
import {
  isRemoteCacheUsable
} from "./chunks/chunk-QKEEGGK4.js";
import {
  STATE,
  getState,
  info,
  saveRemote,
  warning
} from "./chunks/chunk-IOXR657J.js";

// src/action/post-impl.ts
function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
async function stopLeftovers() {
  const pids = (getState(STATE.pids) || "").split(",").map(Number).filter((p) => Number.isInteger(p) && p > 1 && alive(p));
  for (const pid of pids) {
    info(`stopping process ${pid} left by the main step`);
    process.kill(pid, "SIGTERM");
  }
  const deadline = Date.now() + 5e3;
  while (pids.some(alive) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  for (const pid of pids.filter(alive)) process.kill(pid, "SIGKILL");
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
