// Host tools the harness runs, the Debian package of each, and the one place that checks
// for them and installs what is missing (apt-get, through sudo -n when not root).
import { constants } from 'node:fs';
import { access } from 'node:fs/promises';
import { delimiter, join } from 'node:path';
import { InfraError } from '../errors.js';
import { run } from './exec.js';

/** Command → the Debian (and Ubuntu) package that ships it. */
export const COMMAND_PACKAGES: Readonly<Record<string, string>> = {
  'qemu-system-aarch64': 'qemu-system-arm',
  mkimage: 'u-boot-tools',
  dtc: 'device-tree-compiler',
  fdtget: 'device-tree-compiler',
  mke2fs: 'e2fsprogs',
  debugfs: 'e2fsprogs',
  sfdisk: 'fdisk',
  cpio: 'cpio',
  'dpkg-deb': 'dpkg',
  xz: 'xz-utils',
  zstd: 'zstd',
  depmod: 'kmod',
  modinfo: 'kmod',
  'apt-get': 'apt',
  ssh: 'openssh-client',
  'ssh-keygen': 'openssh-client',
  'aarch64-linux-gnu-readelf': 'binutils-aarch64-linux-gnu',
  'aarch64-linux-gnu-gcc': 'gcc-aarch64-linux-gnu',
  // Only the tests use it, to validate JUnit against Jenkins' schema.
  xmllint: 'libxml2-utils',
};

/** Files (not commands) the harness needs, with their packages. */
export const FILE_PACKAGES: Readonly<Record<string, string>> = {
  '/usr/share/keyrings/debian-archive-keyring.gpg': 'debian-archive-keyring',
  '/usr/lib/u-boot/qemu_arm64/u-boot.bin': 'u-boot-qemu',
};

/** What building a debian rig runs on the host. */
export const RIG_BUILD_COMMANDS = ['apt-get', 'dpkg-deb', 'cpio', 'depmod', 'modinfo', 'xz'] as const;
/** What building boot media and booting run on the host. */
export const BOOT_COMMANDS = ['qemu-system-aarch64', 'dtc', 'mkimage', 'mke2fs', 'sfdisk', 'cpio'] as const;
export const RIG_BUILD_FILES = ['/usr/share/keyrings/debian-archive-keyring.gpg'] as const;

/** The absolute path of a command found on PATH, or undefined. */
export async function findCommand(name: string, path = process.env.PATH ?? ''): Promise<string | undefined> {
  for (const dir of path.split(delimiter).filter(Boolean)) {
    const candidate = join(dir, name);
    if (await access(candidate, constants.X_OK).then(() => true, () => false)) return candidate;
  }
  return undefined;
}

interface Missing {
  what: string;
  pkg?: string;
}

async function missing(commands: readonly string[], files: readonly string[]): Promise<Missing[]> {
  const out: Missing[] = [];
  for (const c of commands) if (!(await findCommand(c))) out.push({ what: c, pkg: COMMAND_PACKAGES[c] });
  for (const f of files) if (!(await access(f).then(() => true, () => false))) out.push({ what: f, pkg: FILE_PACKAGES[f] });
  return out;
}

function describe(list: Missing[]): string {
  return list.map((m) => `${m.what} (${m.pkg ? `package ${m.pkg}` : 'no known Debian package'})`).join(', ');
}

export interface PrerequisiteOptions {
  log: (line: string) => void;
  /** Try apt-get install for what is missing (default true). */
  install?: boolean;
}

/**
 * Makes sure every command and file is present, installing the packages of missing ones
 * when allowed; otherwise throws an InfraError naming each missing thing and its package.
 */
export async function ensureHostPrerequisites(
  req: { commands?: readonly string[]; files?: readonly string[] },
  opts: PrerequisiteOptions,
): Promise<void> {
  const commands = req.commands ?? [];
  const files = req.files ?? [];
  const before = await missing(commands, files);
  if (before.length === 0) return;

  const unmapped = before.filter((m) => !m.pkg);
  if (unmapped.length > 0 || opts.install === false) {
    throw new InfraError(`missing host prerequisites: ${describe(before)}`);
  }
  const packages = [...new Set(before.map((m) => m.pkg!))].sort();
  opts.log(`installing host packages: ${packages.join(' ')} (for ${before.map((m) => m.what).join(', ')})`);
  const problem = await installPackages(packages);
  const after = await missing(commands, files);
  if (after.length > 0) {
    throw new InfraError(`missing host prerequisites: ${describe(after)}${problem ? `; apt-get install failed: ${problem}` : ''}`);
  }
}

/** apt-get install, via sudo -n when not root; refreshes the host lists once if packages are unknown. */
async function installPackages(packages: string[]): Promise<string | undefined> {
  const root = process.getuid?.() === 0;
  if (!root && !(await findCommand('sudo'))) return 'not root and sudo is not installed';
  const apt = (args: string[]) =>
    root
      ? run('apt-get', args, { allowFailure: true, env: { DEBIAN_FRONTEND: 'noninteractive' } })
      : run('sudo', ['-n', 'env', 'DEBIAN_FRONTEND=noninteractive', 'apt-get', ...args], { allowFailure: true });
  let result = await apt(['install', '-y', '--no-install-recommends', ...packages]);
  if (result.exitCode !== 0) {
    await apt(['update']);
    result = await apt(['install', '-y', '--no-install-recommends', ...packages]);
  }
  return result.exitCode === 0 ? undefined : (result.stderr.trim() || result.stdout.trim()).split('\n').slice(-5).join('\n');
}
