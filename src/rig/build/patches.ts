// Patch series for the trees a component is built from, applied in order with `patch -p1`.
// Each patch's sha256 goes into the component's key (its name does not: renaming a file
// rebuilds nothing); a patch that does not apply stops the build before anything compiles.
import { createHash } from 'node:crypto';
import { appendFile, readFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { ConfigError, InfraError } from '../../errors.js';
import { run } from '../../host/exec.js';

export interface PatchFile {
  /** Absolute path of the patch file. */
  path: string;
  sha256: string;
  /** Ours (shipped with the action) or the user's (xen-patches / qemu-patches). */
  from: 'ours' | 'user';
}

/** Reads one patch; an unreadable one of the user's is their mistake (ConfigError), one of ours is ours. */
export async function readPatch(path: string, from: PatchFile['from']): Promise<PatchFile> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (cause) {
    const message = `cannot read ${from === 'user' ? "the user's" : 'our'} patch ${path}: ${(cause as Error).message}`;
    throw from === 'user' ? new ConfigError(message) : new InfraError(message, { cause });
  }
  return { path, sha256: createHash('sha256').update(bytes).digest('hex'), from };
}

/** The user's patches alone, in their order: for sources whose patches are all the user's business. */
export function userPatchSeries(userPatches: readonly string[] = []): Promise<PatchFile[]> {
  return Promise.all(userPatches.map((p) => readPatch(p, 'user')));
}

/** What the key and the manifest record of a patch: its name, whose it is, and its content hash. */
export function describePatch(p: PatchFile): { file: string; from: PatchFile['from']; sha256: string } {
  return { file: basename(p.path), from: p.from, sha256: p.sha256 };
}

/**
 * Applies the series to a source tree with `patch -p1 --forward --batch`. A patch that does
 * not apply stops everything with an error naming the file and showing what patch said
 * (a ConfigError for the user's patches, an InfraError for ours); record() keeps each output.
 */
export async function applyPatches(tree: string, series: readonly PatchFile[], record: (patch: PatchFile, output: string) => Promise<void>): Promise<void> {
  for (const p of series) {
    const result = await run('patch', ['-p1', '--forward', '--batch', '-i', p.path], { cwd: tree, allowFailure: true });
    const output = `${result.stdout}${result.stderr}`.trim();
    await record(p, output);
    if (result.exitCode !== 0) {
      const whose = p.from === 'user' ? "the user's patch" : 'our patch';
      const message = `${whose} ${p.path} does not apply to ${tree} (patch -p1 --forward --batch exited with ${result.exitCode}):\n${output.split('\n').slice(-30).join('\n')}`;
      throw p.from === 'user' ? new ConfigError(message) : new InfraError(message);
    }
  }
}

/** applyPatches with each patch's output appended to <logs>/patch.log, and one line saying what went in. */
export async function applyPatchesLogged(logs: string, tree: string, series: readonly PatchFile[], name: string, log: (line: string) => void): Promise<void> {
  await applyPatches(tree, series, (p, output) => appendFile(join(logs, 'patch.log'), `== ${p.path} (${p.from}, sha256 ${p.sha256})\n${output}\n`));
  if (series.length > 0) log(`${name}: applied ${series.map((p) => describePatch(p).file).join(', ')}`);
}
