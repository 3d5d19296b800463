// A cache folder holding an "unpacked" toolchain, for tests of the component machinery: only
// its key and record are read when the toolchain is already there, so nothing is downloaded
// and no compiler runs unless the test's own recipe runs one.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ToolchainPlan } from '../../src/rig/toolchain/index.js';

let caches = 0;

/** A fresh cache under root with an unpacked toolchain. */
export function cacheWithToolchain(root: string): { cacheDir: string; toolchain: ToolchainPlan } {
  const cacheDir = join(root, `cache-${caches++}`);
  const key = 't'.repeat(64);
  mkdirSync(join(cacheDir, 'toolchains', key, 'bin'), { recursive: true });
  writeFileSync(join(cacheDir, 'toolchains', key, 'toolchain.json'), JSON.stringify({ key, versions: { gcc: '12', binutils: '2.40', libc: '2.36' } }));
  writeFileSync(join(cacheDir, 'toolchains', key, 'bin', 'aarch64-linux-gnu-gcc'), '');
  return { cacheDir, toolchain: { key } as ToolchainPlan };
}
