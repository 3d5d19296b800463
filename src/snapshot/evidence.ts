// A saved booted system keeps its boot's evidence, so that a run restoring it (the usual case
// once the cache is warm) leaves the same files as a run that booted: the repro folder of the
// boot it came from, and the consoles' history up to the save, which the restored run's
// console logs then continue.
import { appendFile, copyFile, cp, mkdir, open, readdir, stat, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { filesOf, type BootedState } from './state.js';

const EVIDENCE_DIR = 'evidence';
/** The consoles of one boot are well under this; a runaway guest's log is kept by its tail. */
const LOG_LIMIT = 8 * 1024 * 1024;
/** The per-run boot media that repro/ copies are already kept with the state: not twice. */
const MEDIA_PREFIX = /^media-\d+-/;

function isLog(name: string): boolean {
  return (name.startsWith('console-') && name.endsWith('.log')) || name === 'serial.raw';
}

/**
 * Copies the boot's evidence from logsDir into the state's dir, right after the save: the
 * repro folder without the boot media the state keeps anyway, and every console log as it
 * stands (the scenario that runs next must not become part of the boot's history).
 */
export async function captureEvidence(logsDir: string, state: BootedState): Promise<void> {
  const into = join(state.dir, EVIDENCE_DIR);
  await mkdir(join(into, 'repro'), { recursive: true, mode: 0o700 });
  const media = new Set(filesOf(state.machineInput).map((p) => basename(p)));
  const repro = join(logsDir, 'repro');
  for (const name of await readdir(repro).catch(() => [] as string[])) {
    if (media.has(name)) continue;
    await copyFile(join(repro, name), join(into, 'repro', name));
  }
  await mkdir(join(into, 'logs'), { recursive: true });
  for (const name of (await readdir(logsDir)).filter(isLog)) await copyTail(join(logsDir, name), join(into, 'logs', name), LOG_LIMIT);
}

/**
 * Puts a restored system's evidence into a run's logsDir, before the console opens its logs
 * (they append): only what the run does not have yet, so a run that booted earlier keeps its
 * own. Returns what it wrote, for the log.
 */
export async function installEvidence(state: BootedState, logsDir: string, now = new Date()): Promise<string[]> {
  const from = join(state.dir, EVIDENCE_DIR);
  if (!(await exists(from))) return [];
  const wrote: string[] = [];
  const repro = join(logsDir, 'repro');
  if (!(await exists(repro))) {
    await mkdir(repro, { recursive: true });
    for (const name of await readdir(join(from, 'repro'))) await copyFile(join(from, 'repro', name), join(repro, name));
    // The boot media, named as the boot named them (the cache keeps them as media-<n>-<name>).
    for (const path of filesOf(state.machineInput)) {
      if (path.startsWith(state.dir + '/') && MEDIA_PREFIX.test(basename(path))) await copyFile(path, join(repro, basename(path).replace(MEDIA_PREFIX, '')));
    }
    await appendFile(join(repro, 'README.txt'), restoredNote(state));
    wrote.push('repro/');
  }
  const mark = `==== saved here (${state.savedAt}); what follows is the run that restored it (${now.toISOString()}) ====\n`;
  for (const name of await readdir(join(from, 'logs'))) {
    const target = join(logsDir, name);
    if (await exists(target)) continue;
    await copyFile(join(from, 'logs', name), target);
    await appendFile(target, name === 'serial.raw' ? `\r\n${mark.replace('\n', '\r\n')}` : mark);
    wrote.push(name);
  }
  return wrote;
}

/** Carries the evidence along when a state moves into the cache. */
export async function copyEvidence(fromStateDir: string, toStateDir: string): Promise<void> {
  const from = join(fromStateDir, EVIDENCE_DIR);
  if (await exists(from)) await cp(from, join(toStateDir, EVIDENCE_DIR), { recursive: true });
}

function restoredNote(state: BootedState): string {
  return [
    '',
    `This run did not boot: it restored the booted system saved at ${state.savedAt}`,
    `(${state.dir}). Everything above describes the boot that system came from, and replay.sh`,
    'boots it again from scratch. The harness instead starts the same QEMU command with',
    '`-incoming defer` and feeds it `zstd -dc state.zst` from that directory through QMP',
    "`migrate-incoming`; the console logs begin with the boot's history up to the save.",
    '',
  ].join('\n');
}

async function copyTail(from: string, to: string, limit: number): Promise<void> {
  const size = (await stat(from)).size;
  if (size <= limit) {
    await copyFile(from, to);
    return;
  }
  const file = await open(from, 'r');
  try {
    const buf = Buffer.alloc(limit);
    await file.read(buf, 0, limit, size - limit);
    await writeFile(to, Buffer.concat([Buffer.from(`[${size - limit} earlier bytes not kept]\n`), buf]));
  } finally {
    await file.close();
  }
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}
