import { createRequire as __xpvCreateRequire } from 'node:module'; import { fileURLToPath as __xpvFileURLToPath } from 'node:url'; import { dirname as __xpvDirname } from 'node:path'; const require = __xpvCreateRequire(import.meta.url); const __xpvFilename = __xpvFileURLToPath(import.meta.url); const __xpvDir = __xpvDirname(__xpvFilename);
import {
  isFeatureAvailable
} from "./chunk-DDZVHIKC.js";

// src/action/cache-service.ts
function isRemoteCacheUsable() {
  try {
    return isFeatureAvailable();
  } catch {
    return false;
  }
}

// src/host/process-identity.ts
import { readFileSync } from "node:fs";
function identify(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const started = fields[19];
    if (!started || fields[0] === "Z") return void 0;
    const command = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").filter(Boolean).join(" ");
    return { pid, started, command };
  } catch {
    return void 0;
  }
}
function stillOurs(recorded) {
  const now = identify(recorded.pid);
  return now !== void 0 && now.started === recorded.started && now.command === recorded.command;
}
function parseIdentities(text) {
  let data;
  try {
    data = JSON.parse(text || "[]");
  } catch {
    return [];
  }
  if (!Array.isArray(data)) return [];
  return data.filter(
    (x) => typeof x === "object" && x !== null && Number.isInteger(x.pid) && x.pid > 1 && typeof x.started === "string" && typeof x.command === "string"
  );
}

export {
  isRemoteCacheUsable,
  identify,
  stillOurs,
  parseIdentities
};
