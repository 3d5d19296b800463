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
  'aarch64-linux-gnu-strip': 'binutils-aarch64-linux-gnu',
  'dpkg-source': 'dpkg-dev',
  patch: 'patch',
  make: 'make',
  // Xen's kconfig is generated with flex and bison on first use.
  flex: 'flex',
  bison: 'bison',
  ninja: 'ninja-build',
  'pkg-config': 'pkgconf',
  nice: 'coreutils',
  // The source provider: git refs, Xen's tools configure (regenerated when a tree lacks it),
  // and the ACPI compiler libxl's Arm build runs; gcc tells configure the build triplet.
  git: 'git',
  gcc: 'gcc',
  autoconf: 'autoconf',
  iasl: 'acpica-tools',
  grep: 'grep',
  // Only the tests use it, to run the arm64 backend QEMU on the host.
  'qemu-aarch64': 'qemu-user',
  // Only the tests use it, to validate JUnit against Jenkins' schema.
  xmllint: 'libxml2-utils',
};

/** Files (not commands) the harness needs, with their packages. */
export const FILE_PACKAGES: Readonly<Record<string, string>> = {
  '/usr/share/keyrings/debian-archive-keyring.gpg': 'debian-archive-keyring',
  '/usr/lib/u-boot/qemu_arm64/u-boot.bin': 'u-boot-qemu',
  // QEMU's configure gets this python by path, never a PATH shim.
  '/usr/bin/python3': 'python3',
  // Xen's tools configure needs them; distribution source trees (Debian's) drop them.
  '/usr/share/misc/config.guess': 'autotools-dev',
  '/usr/share/misc/config.sub': 'autotools-dev',
};

/** What building a debian rig runs on the host. */
export const RIG_BUILD_COMMANDS = ['apt-get', 'dpkg-deb', 'cpio', 'depmod', 'modinfo', 'xz'] as const;
/** What building boot media and booting run on the host. */
export const BOOT_COMMANDS = ['qemu-system-aarch64', 'dtc', 'mkimage', 'mke2fs', 'sfdisk', 'cpio'] as const;
export const RIG_BUILD_FILES = ['/usr/share/keyrings/debian-archive-keyring.gpg'] as const;
/** What building the hypervisor and the backend QEMU from Debian sources runs on the host. */
export const SOURCE_BUILD_COMMANDS = [
  'dpkg-source',
  'patch',
  'make',
  'flex',
  'bison',
  'ninja',
  'pkg-config',
  'nice',
  'grep',
  'aarch64-linux-gnu-gcc',
  'aarch64-linux-gnu-strip',
] as const;
export const SOURCE_BUILD_FILES = ['/usr/bin/python3'] as const;

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

/** The installation state of name:arch in the host's dpkg database. */
async function foreignInstalled(name: string, arch: string): Promise<boolean> {
  const q = await run('dpkg-query', ['-W', '-f', '${db:Status-Status}', `${name}:${arch}`], { allowFailure: true });
  return q.exitCode === 0 && q.stdout.trim() === 'installed';
}

/**
 * Host setup for cross builds: makes sure the named packages of a foreign architecture are
 * installed (dpkg --add-architecture, apt-get update, apt-get install), through sudo -n when
 * not root. This changes the host: multiarch keeps both architectures of a library at the
 * same version, so apt may upgrade some native packages too. Every action is logged; without
 * root or passwordless sudo it is an InfraError saying what to run.
 */
export async function ensureForeignPackages(arch: string, packages: readonly string[], opts: PrerequisiteOptions): Promise<void> {
  const archs = (await run('dpkg', ['--print-foreign-architectures'])).stdout.split('\n').map((a) => a.trim());
  const missingPkgs: string[] = [];
  for (const p of packages) if (!(await foreignInstalled(p, arch))) missingPkgs.push(`${p}:${arch}`);
  if (archs.includes(arch) && missingPkgs.length === 0) return;

  const wanted = missingPkgs.length > 0 ? missingPkgs : packages.map((p) => `${p}:${arch}`);
  const commands = [
    ...(archs.includes(arch) ? [] : [['dpkg', '--add-architecture', arch]]),
    ['apt-get', 'update'],
    ['apt-get', 'install', '-y', '--no-install-recommends', ...wanted],
  ];
  const printable = commands.map((c) => c.join(' ')).join(' && ');
  const root = process.getuid?.() === 0;
  const sudo = !root && (await findCommand('sudo')) && (await run('sudo', ['-n', 'true'], { allowFailure: true })).exitCode === 0;
  if (!root && !sudo) {
    throw new InfraError(`host setup: cross-building needs ${wanted.join(' ')} on this host, and installing them needs root or passwordless sudo; run as root: ${printable}`);
  }
  if (opts.install === false) throw new InfraError(`host setup: missing ${wanted.join(' ')}; run as root: ${printable}`);
  opts.log(`host setup: installing ${wanted.join(' ')} (this may also upgrade native packages to matching versions)`);
  for (const [command, ...args] of commands) {
    opts.log(`host setup: ${command} ${args.join(' ')}`);
    const result = root
      ? await run(command!, args, { allowFailure: true, env: { DEBIAN_FRONTEND: 'noninteractive' } })
      : await run('sudo', ['-n', 'env', 'DEBIAN_FRONTEND=noninteractive', command!, ...args], { allowFailure: true });
    if (result.exitCode !== 0) {
      const said = (result.stderr.trim() || result.stdout.trim()).split('\n').slice(-15).join('\n');
      throw new InfraError(`host setup: ${command} ${args.join(' ')} exited with ${result.exitCode}:\n${said}`);
    }
  }
  const still: string[] = [];
  for (const p of packages) if (!(await foreignInstalled(p, arch))) still.push(`${p}:${arch}`);
  if (still.length > 0) throw new InfraError(`host setup: ${still.join(' ')} still not installed after apt-get install`);
}
