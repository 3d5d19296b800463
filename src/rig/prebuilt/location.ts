// Where a prebuilt bundle comes from, as the user wrote it in rig-path: a directory, a
// tarball, a file:// URL to either, or an https:// URL (http:// on this machine) to a tarball
// or a bundle directory.
import { stat } from 'node:fs/promises';
import { isAbsolute, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError } from '../../errors.js';
import { MANIFEST_FILE } from '../manifest.js';
import { isSecureOrLocal } from './fetch.js';

export type BundleLocation =
  | { kind: 'dir'; path: string }
  | { kind: 'tarball'; path: string }
  /** A directory served over HTTP: <url>/manifest.json and each file beside it. */
  | { kind: 'url-dir'; url: URL }
  | { kind: 'url-tarball'; url: URL };

const TARBALL = /\.(tar\.gz|tgz|tar)$/;

export function isTarballName(name: string): boolean {
  return TARBALL.test(name);
}

/**
 * Reads rig-path. `label` is how the user named the input ("input `rig-path`" / "--rig-path"),
 * so every error points back at it.
 */
export async function locateBundle(rigPath: string, label: string, cwd = process.cwd()): Promise<BundleLocation> {
  if (/^https?:\/\//i.test(rigPath)) {
    let url: URL;
    try {
      url = new URL(rigPath);
    } catch {
      throw new ConfigError(`${label}: "${rigPath}" is not a valid URL`);
    }
    // The bundle's own manifest is all that vouches for its files: over plain http, anyone on the way could rewrite both.
    if (!isSecureOrLocal(url)) throw new ConfigError(`${label}: ${rigPath}: bundles are fetched over https (http only from this machine)`);
    if (url.username || url.password) throw new ConfigError(`${label}: credentials in the URL would reach logs; serve the bundle without them`);
    if (isTarballName(url.pathname)) return { kind: 'url-tarball', url };
    // A directory URL: the manifest sits at its root, and every file below it.
    const dir = new URL(url.href);
    dir.hash = '';
    if (dir.pathname.endsWith(`/${MANIFEST_FILE}`)) dir.pathname = dir.pathname.slice(0, -MANIFEST_FILE.length);
    else if (!dir.pathname.endsWith('/')) dir.pathname += '/';
    return { kind: 'url-dir', url: dir };
  }
  let path = rigPath;
  if (/^file:/i.test(rigPath)) {
    try {
      path = fileURLToPath(rigPath);
    } catch (cause) {
      throw new ConfigError(`${label}: "${rigPath}" is not a usable file:// URL: ${(cause as Error).message}`);
    }
  } else if (/^[a-z][a-z0-9+.-]*:\/\//i.test(rigPath)) {
    throw new ConfigError(`${label}: unsupported URL scheme in "${rigPath}"; use a path, file://, http:// or https://`);
  }
  if (!isAbsolute(path)) path = resolve(cwd, path);
  // Whatever keeps us from it, the user's answer is the same: the error names the path to fix.
  const st = await stat(path).catch(() => undefined);
  if (!st) throw new ConfigError(`${label}: ${path} does not exist`);
  if (st.isDirectory()) return { kind: 'dir', path };
  if (st.isFile()) return { kind: 'tarball', path };
  throw new ConfigError(`${label}: ${path} is neither a directory nor a tarball`);
}
