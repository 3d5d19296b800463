import { createRequire as __xpvCreateRequire } from 'node:module'; import { fileURLToPath as __xpvFileURLToPath } from 'node:url'; import { dirname as __xpvDirname } from 'node:path'; const require = __xpvCreateRequire(import.meta.url); const __xpvFilename = __xpvFileURLToPath(import.meta.url); const __xpvDir = __xpvDirname(__xpvFilename);
import {
  isFeatureAvailable
} from "./chunk-73YV2RQS.js";

// src/action/cache-service.ts
function isRemoteCacheUsable() {
  try {
    return isFeatureAvailable();
  } catch {
    return false;
  }
}

export {
  isRemoteCacheUsable
};
