// Our patches for the Debian sources the debian rig rebuilds, shipped in
// src/rig/debian/patches/<source>/ and read at run time from the action's checkout: applied
// first, in name order, then the user's in the order given (build/patches.ts applies them).
import { readdirSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { packageRoot } from '../../package-root.js';
import { readPatch, userPatchSeries, type PatchFile } from '../build/patches.js';

export type PatchedSource = 'xen' | 'qemu';

/** The folder holding our patches for one source. */
export function ourPatchDir(source: PatchedSource): string {
  return join(packageRoot(), 'src', 'rig', 'debian', 'patches', source);
}

/** Ours (sorted by name) then the user's (in their order). */
export async function patchSeries(source: PatchedSource, userPatches: readonly string[] = []): Promise<PatchFile[]> {
  const dir = ourPatchDir(source);
  // A source we carry no patches for has no folder (qemu today): its series is the user's alone.
  const ours = (await readdir(dir).catch(() => [] as string[])).filter((f) => f.endsWith('.patch')).sort();
  return [...(await Promise.all(ours.map((f) => readPatch(join(dir, f), 'ours')))), ...(await userPatchSeries(userPatches))];
}

/** The series as paths, without reading the files: what `plan` prints. */
export function patchPaths(source: PatchedSource, userPatches: readonly string[] = []): string[] {
  const dir = ourPatchDir(source);
  let ours: string[] = [];
  try {
    ours = readdirSync(dir).filter((f) => f.endsWith('.patch')).sort();
  } catch {
    // As in patchSeries: no folder, no patches of ours.
    ours = [];
  }
  return [...ours.map((f) => join(dir, f)), ...userPatches];
}
