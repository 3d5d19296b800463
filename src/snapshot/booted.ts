// A booted system kept for later: the machine's saved state, the files its command line
// names, and the run key dom0 trusts. Within a run it lives in the work dir; across runs
// it is cached under <cacheDir>/states/<key>, keyed by everything that shaped the boot.
import { createHash, randomBytes } from 'node:crypto';
import { chmod, copyFile, mkdir, readFile, realpath, rename, rm, stat, writeFile } from 'node:fs/promises';
import { basename, isAbsolute, join, relative } from 'node:path';
import type { BootPath, DomainSpec } from '../config/types.js';
import type { SeenWarning } from '../console/warnings.js';
import type { BootMedia } from '../image/media.js';
import { bootArgs, QEMU_BINARY, type BootArgsInput } from '../machine/qemu-args.js';
import { packageVersion } from '../package-root.js';
import { sha256File } from '../rig/bundle.js';
import type { Rig } from '../rig/manifest.js';
import { findCommand } from '../host/prerequisites.js';
import { copyEvidence } from './evidence.js';
import { filesOf, type BootedState } from './state.js';
import { markUsed } from '../cache/index.js';

/** Bumped when what a saved state holds, or how it is restored, changes (2: the boot's evidence). */
export const STATE_FORMAT = 2;
const ENTRY_FILE = 'entry.json';
const STATE_FILE = 'state.zst';
const KEY_FILE = 'id_ed25519';

interface Entry {
  format: number;
  key: string;
  machineInput: BootArgsInput;
  domains: string[];
  savedAt: string;
  bytes: number;
  warnings?: SeenWarning[];
}

export interface StateKeyInput {
  rig: Rig;
  rigKey: string;
  boot: BootPath;
  domains: DomainSpec[];
  /** A plan of the boot media (planBootMedia): its DT fragment, boot script and argv shape. */
  media: Pick<BootMedia, 'dtsFragment' | 'bootScript' | 'machineInput'>;
}

/**
 * Everything that shaped the saved machine: the rig, the domains and their device trees,
 * the boot path and script, the outer QEMU's options and build (its state only loads into
 * the same build), and this harness's version. Per-run parts (sockets, port, work dir) are
 * left out so the same setup finds the same key.
 */
export async function bootedStateKey(input: StateKeyInput): Promise<string> {
  const qemu = (await findCommand(QEMU_BINARY)) ?? QEMU_BINARY;
  const qemuHash = await sha256File(await realpath(qemu)).catch(() => 'unknown');
  const normalized = await normalizeInput(input.media.machineInput, input.rig.dir);
  const recipe = {
    format: STATE_FORMAT,
    harness: packageVersion(),
    rig: input.rigKey,
    boot: input.boot,
    domains: input.domains,
    fragment: input.media.dtsFragment,
    script: input.media.bootScript?.text ?? null,
    argv: bootArgs(normalized),
    qemu: qemuHash,
  };
  return createHash('sha256').update(JSON.stringify(recipe, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v))).digest('hex');
}

/** The input with per-run parts replaced by stable names: rig files by their place in the rig. */
async function normalizeInput(input: BootArgsInput, rigDir: string): Promise<BootArgsInput> {
  const name = async (p: string) => (p.startsWith(rigDir + '/') ? `rig:${relative(rigDir, p)}` : `run:${basename(p)}`);
  return { ...(await mapFiles(input, name)), serialSocket: 'serial', qmpSocket: 'qmp', sshPort: 0 };
}

export function statesDir(cacheDir: string): string {
  return join(cacheDir, 'states');
}

/**
 * Copies a state saved in this run into the cache: the state, the run key and every file
 * the command line names that is not the rig's (the rig is cached on its own).
 */
export async function storeBootedState(cacheDir: string, key: string, state: BootedState, rigDir: string): Promise<BootedState> {
  const final = join(statesDir(cacheDir), key);
  const tmp = join(statesDir(cacheDir), `.tmp-${key.slice(0, 12)}-${randomBytes(4).toString('hex')}`);
  // dom0's RAM and the key dom0 accepts: readable by this user only.
  await mkdir(tmp, { recursive: true, mode: 0o700 });
  await chmod(tmp, 0o700);
  try {
    const copied = new Map<string, string>();
    const keep = async (p: string): Promise<string> => {
      if (p.startsWith(rigDir + '/')) return p;
      let name = copied.get(p);
      if (!name) {
        name = `media-${copied.size}-${basename(p)}`;
        copied.set(p, name);
        await copyFile(p, join(tmp, name));
      }
      return name;
    };
    const input = await mapFiles(state.machineInput, keep);
    await copyFile(state.stateFile, join(tmp, STATE_FILE));
    await copyFile(state.privateKeyPath, join(tmp, KEY_FILE));
    for (const name of [STATE_FILE, KEY_FILE, ...copied.values()]) await chmod(join(tmp, name), 0o600);
    await copyEvidence(state.dir, tmp);
    const entry: Entry = { format: STATE_FORMAT, key, machineInput: input, domains: state.domains, savedAt: state.savedAt, bytes: state.bytes, warnings: state.warnings ?? [] };
    await writeFile(join(tmp, ENTRY_FILE), JSON.stringify(entry, null, 2) + '\n');
    await rm(final, { recursive: true, force: true });
    await rename(tmp, final);
  } catch (e) {
    await rm(tmp, { recursive: true, force: true });
    throw e;
  }
  return (await findBootedState(cacheDir, key))!;
}

/** A cached booted state whose files all exist, or undefined (a broken entry is removed). */
export async function findBootedState(cacheDir: string, key: string): Promise<BootedState | undefined> {
  const dir = join(statesDir(cacheDir), key);
  let entry: Entry;
  try {
    entry = JSON.parse(await readFile(join(dir, ENTRY_FILE), 'utf8')) as Entry;
  } catch {
    return undefined;
  }
  const absolute = (p: string) => (isAbsolute(p) ? p : join(dir, p));
  const input = await mapFiles(entry.machineInput, async (p) => absolute(p));
  const needed = [...filesOf(input), join(dir, STATE_FILE), join(dir, KEY_FILE)];
  const present = await Promise.all(needed.map((p) => stat(p).then(() => true, () => false)));
  if (entry.format !== STATE_FORMAT || entry.key !== key || present.includes(false)) {
    await discardBootedState(cacheDir, key);
    return undefined;
  }
  markUsed(cacheDir, dir);
  return {
    dir,
    stateFile: join(dir, STATE_FILE),
    machineInput: input,
    privateKeyPath: join(dir, KEY_FILE),
    domains: entry.domains,
    savedAt: entry.savedAt,
    bytes: entry.bytes,
    warnings: Array.isArray(entry.warnings) ? entry.warnings : [],
    key,
  };
}

export async function discardBootedState(cacheDir: string, key: string): Promise<void> {
  await rm(join(statesDir(cacheDir), key), { recursive: true, force: true });
}

async function mapFiles(input: BootArgsInput, f: (p: string) => Promise<string>): Promise<BootArgsInput> {
  const t = input.target;
  const target: BootArgsInput['target'] =
    t.kind === 'uboot'
      ? { kind: 'uboot', disks: await Promise.all(t.disks.map(f)) }
      : { kind: 'direct', xenImage: await f(t.xenImage), dtb: await f(t.dtb), blobs: await Promise.all(t.blobs.map(async (b) => ({ ...b, file: await f(b.file) }))) };
  const shape = input.shape.bios !== undefined ? { ...input.shape, bios: await f(input.shape.bios) } : input.shape;
  return { ...input, shape, target };
}
