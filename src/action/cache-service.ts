// Whether this job can reach an Actions cache service (GitHub's, or act's built-in one).
import * as cache from '@actions/cache';

export function isRemoteCacheUsable(): boolean {
  try {
    return cache.isFeatureAvailable();
  } catch {
    return false;
  }
}
