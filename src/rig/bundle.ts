// Reading, writing and checking rig bundles on disk: a directory of files plus manifest.json.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { isAbsolute, join } from 'node:path';
import { InfraError } from '../errors.js';
import { MANIFEST_FILE, MANIFEST_SCHEMA_VERSION, type FileRole, type Rig, type RigManifest } from './manifest.js';

export async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

export async function writeManifest(dir: string, manifest: RigManifest): Promise<void> {
  await writeFile(join(dir, MANIFEST_FILE), JSON.stringify(manifest, null, 2) + '\n');
}

/** Reads a bundle's manifest; an unreadable or foreign manifest is an InfraError naming the file. */
export async function readRig(dir: string): Promise<Rig> {
  const file = join(dir, MANIFEST_FILE);
  let manifest: RigManifest;
  try {
    manifest = JSON.parse(await readFile(file, 'utf8')) as RigManifest;
  } catch (cause) {
    throw new InfraError(`cannot read rig manifest ${file}: ${(cause as Error).message}`, { cause });
  }
  if (manifest.schemaVersion !== MANIFEST_SCHEMA_VERSION) {
    throw new InfraError(`${file}: manifest schema ${String(manifest.schemaVersion)}, expected ${MANIFEST_SCHEMA_VERSION}`);
  }
  if (!Array.isArray(manifest.files)) throw new InfraError(`${file}: manifest lists no files`);
  return { dir, manifest };
}

/** Checks every listed file's size and sha256; the error names each file that does not match. */
export async function verifyRig(rig: Rig): Promise<void> {
  const problems: string[] = [];
  for (const f of rig.manifest.files) {
    const path = join(rig.dir, f.path);
    const st = await stat(path).catch(() => undefined);
    if (!st) {
      problems.push(`${f.path} (${f.role}) is missing`);
      continue;
    }
    const sum = await sha256File(path);
    if (sum !== f.sha256) problems.push(`${f.path} (${f.role}) has sha256 ${sum}, manifest says ${f.sha256}`);
    else if (st.size !== f.size) problems.push(`${f.path} (${f.role}) has ${st.size} bytes, manifest says ${f.size}`);
  }
  if (problems.length > 0) throw new InfraError(`rig bundle ${rig.dir} is damaged:\n  ${problems.join('\n  ')}`);
}

/** The absolute path of the file that plays a role in the rig. */
export function rigFile(rig: Rig, role: FileRole): string {
  const f = rig.manifest.files.find((x) => x.role === role);
  if (!f) {
    const roles = rig.manifest.files.map((x) => x.role).join(', ');
    throw new InfraError(`rig ${rig.dir} has no ${role} file (it has: ${roles})`);
  }
  return isAbsolute(f.path) ? f.path : join(rig.dir, f.path);
}
