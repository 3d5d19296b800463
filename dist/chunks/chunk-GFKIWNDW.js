import { createRequire as __xpvCreateRequire } from 'node:module'; const require = __xpvCreateRequire(import.meta.url);
import {
  isFeatureAvailable
} from "./chunk-PM75LNY2.js";

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
