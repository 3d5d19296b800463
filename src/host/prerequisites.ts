// Host tools the harness runs, the package of each, and the one place that checks for them
// and installs what is missing, in one apt-get call (through sudo -n when not root). The
// host contributes only these tools: everything compiled for the guest is built with the
// rig's pinned toolchain (rig/toolchain/), never the host's compiler or libraries. Why each
// entry is here (some only a Recommends would bring): docs/host-independence.md.
import { changesAllowed, NeedsChange } from './dry-run.js';
import { constants } from 'node:fs';
import { access } from 'node:fs/promises';
import { delimiter, join } from 'node:path';
import { InfraError } from '../errors.js';
import { run } from './exec.js';

/** What a run does that needs host tools. */
export type HostNeed = 'boot' | 'rig-debian' | 'rig-source' | 'tests';

export interface HostTool {
  /** A command looked up on PATH, or an absolute file path; with probe, what the probe checks. */
  what: string;
  /** A command (argument array) whose success shows the tool is there, for what has no file of its own. */
  probe?: readonly string[];
  /** The package that ships it: the same name on Debian 12/13 and Ubuntu 22.04/24.04. */
  pkg: string;
  needs: readonly HostNeed[];
}

const BUILD: readonly HostNeed[] = ['rig-debian', 'rig-source'];

/** Every host tool, with its package and who needs it. The README's list is this table. */
export const HOST_TOOLS: readonly HostTool[] = [
  // Booting: the outer machine, the boot media, the saved booted system.
  { what: 'qemu-system-aarch64', pkg: 'qemu-system-arm', needs: ['boot'] },
  { what: 'dtc', pkg: 'device-tree-compiler', needs: ['boot'] },
  { what: 'mkimage', pkg: 'u-boot-tools', needs: ['boot'] },
  { what: 'mke2fs', pkg: 'e2fsprogs', needs: ['boot'] },
  { what: 'sfdisk', pkg: 'fdisk', needs: ['boot'] },
  { what: 'cpio', pkg: 'cpio', needs: ['boot', ...BUILD] },
  { what: 'zstd', pkg: 'zstd', needs: ['boot'] },
  // Rigs from Debian packages: our own apt lists, unpacking, modules, ramdisks.
  { what: 'apt-get', pkg: 'apt', needs: BUILD },
  { what: 'dpkg-deb', pkg: 'dpkg', needs: BUILD },
  { what: '/usr/share/keyrings/debian-archive-keyring.gpg', pkg: 'debian-archive-keyring', needs: BUILD },
  { what: 'depmod', pkg: 'kmod', needs: BUILD },
  { what: 'modinfo', pkg: 'kmod', needs: BUILD },
  { what: 'xz', pkg: 'xz-utils', needs: BUILD },
  // Building Xen and QEMU with the pinned toolchain: the build systems' own tools. The
  // native compiler builds only build-time helpers (Xen's kconfig and fixdep, meson's probe
  // of the build machine), nothing that runs in the guest.
  { what: 'dpkg-source', pkg: 'dpkg-dev', needs: BUILD },
  { what: 'patch', pkg: 'patch', needs: BUILD },
  { what: 'make', pkg: 'make', needs: BUILD },
  { what: 'gcc', pkg: 'gcc', needs: BUILD },
  // Its C library headers: only a Recommends of gcc, so a --no-install-recommends host lacks them.
  { what: '/usr/include/stdio.h', pkg: 'libc6-dev', needs: BUILD },
  // Xen's kconfig is generated with flex and bison on first use.
  { what: 'flex', pkg: 'flex', needs: BUILD },
  { what: 'bison', pkg: 'bison', needs: BUILD },
  // Linux (kernel: source) computes its timer constants with bc at build time.
  { what: 'bc', pkg: 'bc', needs: BUILD },
  { what: 'ninja', pkg: 'ninja-build', needs: BUILD },
  { what: 'pkg-config', pkg: 'pkgconf', needs: BUILD },
  // QEMU's configure gets this python by path, never a PATH shim.
  { what: '/usr/bin/python3', pkg: 'python3', needs: BUILD },
  // QEMU's configure makes a venv for its build scripts, with the ensurepip module that Debian
  // and Ubuntu ship apart from Python itself.
  { what: "python3's ensurepip module", probe: ['/usr/bin/python3', '-c', 'import ensurepip'], pkg: 'python3-venv', needs: BUILD },
  // QEMU 10's configure reads TOML: Python 3.11 has tomllib; older ones (Ubuntu 22.04's 3.10) need tomli.
  {
    what: 'a TOML parser for python3 (tomllib or tomli)',
    probe: ['/usr/bin/python3', '-c', 'import importlib.util as u, sys; sys.exit(0 if u.find_spec("tomllib") or u.find_spec("tomli") else 1)'],
    pkg: 'python3-tomli',
    needs: BUILD,
  },
  // The source provider: git refs, Xen's tools configure (regenerated when a tree lacks it,
  // with autoconf's helper scripts), and the ACPI compiler libxl's Arm build runs.
  { what: 'git', pkg: 'git', needs: ['rig-source'] },
  { what: 'autoconf', pkg: 'autoconf', needs: ['rig-source'] },
  { what: '/usr/share/misc/config.guess', pkg: 'autotools-dev', needs: ['rig-source'] },
  { what: '/usr/share/misc/config.sub', pkg: 'autotools-dev', needs: ['rig-source'] },
  { what: 'iasl', pkg: 'acpica-tools', needs: ['rig-source'] },
  // Only the tests: the arm64 backend QEMU run on the host, JUnit validated against a schema,
  // ELF headers read, and the clean room.
  { what: 'qemu-aarch64', pkg: 'qemu-user', needs: ['tests'] },
  { what: 'xmllint', pkg: 'libxml2-utils', needs: ['tests'] },
  { what: 'readelf', pkg: 'binutils', needs: ['tests'] },
  { what: 'debootstrap', pkg: 'debootstrap', needs: ['tests'] },
];

/** The host needs of a run with this rig provider (a prebuilt or yocto rig is built elsewhere). */
export function runNeeds(provider: string): HostNeed[] {
  if (provider === 'debian') return ['boot', 'rig-debian'];
  if (provider === 'source') return ['boot', 'rig-debian', 'rig-source'];
  return ['boot'];
}

export function toolsFor(needs: readonly HostNeed[]): HostTool[] {
  return HOST_TOOLS.filter((t) => t.needs.some((n) => needs.includes(n)));
}

/** The absolute path of a command found on PATH, or undefined. */
export async function findCommand(name: string, path = process.env.PATH ?? ''): Promise<string | undefined> {
  for (const dir of path.split(delimiter).filter(Boolean)) {
    const candidate = join(dir, name);
    if (await access(candidate, constants.X_OK).then(() => true, () => false)) return candidate;
  }
  return undefined;
}

/** The tools of the list that this host lacks. */
export async function missingTools(tools: readonly HostTool[], path = process.env.PATH ?? ''): Promise<HostTool[]> {
  const out: HostTool[] = [];
  for (const t of tools) {
    // A probe that cannot even start means the tool is missing, which is what it asks.
    const present = t.probe
      ? (await run(t.probe[0]!, t.probe.slice(1), { allowFailure: true }).catch(() => undefined))?.exitCode === 0
      : t.what.startsWith('/')
        ? await access(t.what).then(() => true, () => false)
        : (await findCommand(t.what, path)) !== undefined;
    if (!present) out.push(t);
  }
  return out;
}

/** The one apt-get command that installs the missing tools: sorted, each package once. */
export function installCommand(missing: readonly HostTool[]): string[] {
  const packages = [...new Set(missing.map((t) => t.pkg))].sort();
  return ['apt-get', 'install', '-y', '--no-install-recommends', ...packages];
}

function describe(list: readonly HostTool[]): string {
  return list.map((t) => `${t.what} (package ${t.pkg})`).join(', ');
}

export interface PrerequisiteOptions {
  log: (line: string) => void;
  /** Try apt-get install for what is missing (default true). */
  install?: boolean;
  /** For tests: whether we may run apt-get as root or through sudo -n (default: ask the host). */
  privilege?: 'root' | 'sudo' | 'none';
}

/**
 * Makes sure every tool the needs call for is present: one check, one apt-get call for all
 * that is missing (with one `apt-get update` first when apt knows none of them), or an
 * InfraError naming each missing tool, its package and the command to run.
 */
export async function ensureHostTools(needs: readonly HostNeed[], opts: PrerequisiteOptions): Promise<void> {
  const before = await missingTools(toolsFor(needs));
  if (before.length === 0) return;
  const command = installCommand(before);
  if (!changesAllowed()) throw new NeedsChange(`missing host tools: ${describe(before)} (a run installs them: ${command.join(' ')})`);
  if (opts.install === false) throw new InfraError(`missing host tools: ${describe(before)}; install them with: ${command.join(' ')}`);
  const privilege = opts.privilege ?? (await hostPrivilege());
  if (privilege === 'none') {
    throw new InfraError(`missing host tools: ${describe(before)}; installing them needs root or passwordless sudo. As root, run: ${command.join(' ')}`);
  }
  opts.log(`installing host tools: ${command.slice(4).join(' ')} (for ${before.map((t) => t.what).join(', ')})`);
  const problem = await aptInstall(command, privilege);
  const after = await missingTools(toolsFor(needs));
  if (after.length > 0) {
    throw new InfraError(`missing host tools: ${describe(after)}${problem ? `; ${command.join(' ')} failed: ${problem}` : ''}`);
  }
}

async function hostPrivilege(): Promise<'root' | 'sudo' | 'none'> {
  if (process.getuid?.() === 0) return 'root';
  if (!(await findCommand('sudo'))) return 'none';
  return (await run('sudo', ['-n', 'true'], { allowFailure: true })).exitCode === 0 ? 'sudo' : 'none';
}

/** apt-get install as given; a fresh runner's lists may be empty or old: update once, then retry. */
async function aptInstall(command: string[], privilege: 'root' | 'sudo'): Promise<string | undefined> {
  const apt = (args: string[]) =>
    privilege === 'root'
      ? run('apt-get', args, { allowFailure: true, env: { DEBIAN_FRONTEND: 'noninteractive' } })
      : run('sudo', ['-n', 'env', 'DEBIAN_FRONTEND=noninteractive', 'apt-get', ...args], { allowFailure: true });
  let result = await apt(command.slice(1));
  if (result.exitCode !== 0) {
    await apt(['update']);
    result = await apt(command.slice(1));
  }
  return result.exitCode === 0 ? undefined : (result.stderr.trim() || result.stdout.trim()).split('\n').slice(-5).join('\n');
}
