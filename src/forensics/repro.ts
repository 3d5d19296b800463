// The repro folder: what a developer needs to boot this run's machine again by hand, written
// at boot time because the run's work dir (per-run disk, ramdisk, key) is deleted at the end.
// Receives the built BootMedia and the rig; writes files; returns what it copied and referenced.
import { chmod, copyFile, mkdir, stat, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { describeBootMedia, type BootMedia } from '../image/index.js';
import { formatCommandLine } from '../machine/index.js';
import type { Rig } from '../rig/manifest.js';
import { replayScript } from './replay-script.js';

/** Per-run files above this are not copied (the brief's limit for a logs artifact). */
export const REPRO_COPY_LIMIT = 100 * 1024 * 1024;

export interface ReproRecord {
  dir: string;
  /** Per-run files copied in, with their sizes. */
  copied: { name: string; bytes: number }[];
  /** Files the QEMU command uses from elsewhere (the rig cache), by absolute path. */
  referenced: string[];
  /** Per-run files too big to copy: replay.sh cannot boot without regenerating them. */
  tooBig: string[];
}

export async function writeRepro(media: BootMedia, rig: Rig, workDir: string, dir: string): Promise<ReproRecord> {
  await mkdir(dir, { recursive: true });
  const { binary, args } = media.launch;
  const record: ReproRecord = { dir, copied: [], referenced: [], tooBig: [] };
  const perRun = (path: string) => path.startsWith(workDir + '/');

  await writeFile(join(dir, 'plan.txt'), describeBootMedia(media));
  await writeFile(join(dir, 'qemu-argv.json'), JSON.stringify({ binary, args }, null, 2) + '\n');
  await writeFile(join(dir, 'qemu-command.txt'), formatCommandLine(binary, args) + '\n');
  if (media.dts) await writeFile(join(dir, 'xen.dts'), media.dts);
  for (const p of media.passthrough) await writeFile(join(dir, basename(p.dtsPath)), p.dts);
  if (media.bootScript) await writeFile(join(dir, 'boot.cmd'), media.bootScript.text);
  await writeFile(join(dir, 'rig-manifest.json'), JSON.stringify({ dir: rig.dir, ...rig.manifest }, null, 2) + '\n');

  // Only the public half: this folder is uploaded as an artifact, and a saved booted system
  // restored by later runs accepts the same key.
  await copyFile(media.sshKey.publicKeyPath, join(dir, 'id_ed25519.pub'));

  // Sockets are recreated by replay.sh; every other path in the argv is a file the boot reads.
  const sockets = new Set([media.launch.serialSocket, media.launch.qmpSocket]);
  for (const path of filesIn(args)) {
    if (sockets.has(path)) continue;
    if (!perRun(path)) {
      if (!record.referenced.includes(path)) record.referenced.push(path);
      continue;
    }
    const bytes = (await stat(path)).size;
    if (bytes > REPRO_COPY_LIMIT) {
      record.tooBig.push(path);
      continue;
    }
    await copyFile(path, join(dir, basename(path)));
    record.copied.push({ name: basename(path), bytes });
  }

  const script = join(dir, 'replay.sh');
  await writeFile(script, replayScript({ binary, args, media, perRunDir: workDir, referenced: record.referenced }));
  await chmod(script, 0o755);
  await writeFile(join(dir, 'README.txt'), readme(record, media));
  return record;
}

/** Absolute paths named by QEMU options (`/x`, or `file=/x` / `path=/x` inside a comma list, where `,,` is a comma). */
export function filesIn(args: readonly string[]): string[] {
  const out: string[] = [];
  for (const a of args) {
    if (a.startsWith('/')) out.push(a);
    for (const m of a.matchAll(/(?:^|,)(?:file|path)=(\/(?:[^,]|,,)+)/g)) out.push(m[1]!.replaceAll(',,', ','));
  }
  return [...new Set(out)];
}

function readme(record: ReproRecord, media: BootMedia): string {
  const mib = (n: number) => (n < 1024 * 1024 ? `${Math.ceil(n / 1024)} KiB` : `${(n / 1024 / 1024).toFixed(1)} MiB`);
  return [
    `Boot this run's machine again: ./replay.sh (REPLAY_SERIAL=stdio|socket, REPLAY_SSH_PORT, REPLAY_SOCKET_DIR, REPLAY_QEMU).`,
    `Boot path: ${media.boot}.`,
    '',
    'Copied from the run (its work dir is deleted when the run ends):',
    ...record.copied.map((c) => `  ${c.name} (${mib(c.bytes)})`),
    "  id_ed25519.pub: the run key's public half; dom0 accepts the key for root. The private key is a",
    '  secret and is not kept here: replay.sh takes it from REPLAY_SSH_KEY (or use the serial console).',
    '',
    'Used in place from the rig cache (rebuild the rig with the same recipe if they are gone):',
    ...record.referenced.map((p) => `  ${p}`),
    ...(record.tooBig.length > 0
      ? ['', `Not copied (over ${mib(REPRO_COPY_LIMIT)}); rerun the same plan to regenerate:`, ...record.tooBig.map((p) => `  ${p}`)]
      : []),
    '',
    'Also here: plan.txt (the whole boot), qemu-argv.json and qemu-command.txt (the exact outer QEMU',
    'command of the run), xen.dts and pt-*.dts (device tree sources), boot.cmd (u-boot script source),',
    'rig-manifest.json (the rig: files, hashes, versions).',
    '',
  ].join('\n');
}
