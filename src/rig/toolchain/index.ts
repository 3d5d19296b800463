// toolchain/: the pinned compilers and arm64 sysroot every guest build uses. Planning
// resolves exact package versions from private apt lists (no download) and derives the
// key; ensureToolchain() downloads and unpacks them once under <cache>/toolchains/<key>,
// never installing anything on the host, and writes small wrappers so that build systems
// find `aarch64-linux-gnu-gcc` and `aarch64-linux-gnu-pkg-config` on PATH as usual.
// The facts behind each choice: docs/host-independence.md.
import { chmod, lstat, mkdir, open, readdir, readFile, readlink, rename, rm, stat, symlink, unlink, writeFile } from 'node:fs/promises';
import { delimiter, dirname, join, relative } from 'node:path';
import { InfraError } from '../../errors.js';
import { run } from '../../host/exec.js';
import { markUsed } from '../../cache/index.js';
import { shellQuote } from '../../host/shell.js';
import { recipeKey } from '../cache.js';
import { PrivateApt, refreshLists, type AptSource, type PackageVersion } from '../debian/apt.js';
import { isElf } from '../build/elf.js';
import {
  COMPILER_EXCLUDED,
  COMPILER_PACKAGES,
  CROSS_PREFIX,
  HOST_MULTIARCH,
  COMPILER_RUNTIME,
  HOST_LOADER,
  SYSROOT_EXCLUDED,
  SYSROOT_PACKAGES,
  TARGET_TRIPLET,
  TOOLCHAIN_SUITE,
  TOOLCHAIN_VERSION,
  hostArch,
} from './recipe.js';

export { CROSS_PREFIX, TARGET_TRIPLET } from './recipe.js';

export interface ToolchainPlan {
  key: string;
  hostArch: string;
  hostApt: PrivateApt;
  targetApt: PrivateApt;
  compilers: PackageVersion[];
  /** The compilers' own C runtime (libc6, libgcc-s1, libstdc++6 of the host's architecture). */
  runtime: PackageVersion[];
  sysroot: PackageVersion[];
}

/** What a build needs: the wrapper directory to put first on PATH, and what went into it. */
export interface Toolchain {
  key: string;
  dir: string;
  /** Wrappers named aarch64-linux-gnu-gcc, -strip, -pkg-config, …: first on PATH for every build step. */
  bin: string;
  sysroot: string;
  /** Environment for build steps: PATH with bin first. */
  env: Record<string, string>;
  /** Versions for the record: gcc, binutils, the sysroot's libc. */
  versions: Record<string, string>;
}

/**
 * The key says which compiler and which libraries, never where they were unpacked or on
 * what host: two hosts of one architecture that resolve the same versions share every
 * component built with them.
 */
export function toolchainKey(compilers: readonly PackageVersion[], runtime: readonly PackageVersion[], sysroot: readonly PackageVersion[]): string {
  return recipeKey({
    version: TOOLCHAIN_VERSION,
    suite: TOOLCHAIN_SUITE,
    target: TARGET_TRIPLET,
    compilers: compilers.map((p) => `${p.name}=${p.version}`),
    runtime: runtime.map((p) => `${p.name}=${p.version}`),
    sysroot: sysroot.map((p) => `${p.name}=${p.version}`),
  });
}

/**
 * Resolves the compilers (host architecture) and the sysroot (arm64) to exact versions.
 * targetApt must list bookworm arm64; its lists are the caller's to refresh.
 */
export async function planToolchain(cacheDir: string, targetApt: PrivateApt, log: (line: string) => void): Promise<ToolchainPlan> {
  const arch = hostArch();
  if (!arch) throw new InfraError(`building a rig needs an amd64 or arm64 host; this one is ${process.arch}`);
  if (targetApt.source.suite !== TOOLCHAIN_SUITE || targetApt.source.arch !== 'arm64') {
    throw new InfraError(`the toolchain's sysroot comes from ${TOOLCHAIN_SUITE}/arm64 lists, not ${targetApt.source.suite}/${targetApt.source.arch}`);
  }
  // Binary lists only: no source package comes from the host's architecture.
  const hostSource: AptSource = { ...targetApt.source, arch, sources: false };
  const hostApt = arch === 'arm64' ? targetApt : new PrivateApt(cacheDir, hostSource);
  if (hostApt !== targetApt) await refreshLists(hostApt, log);
  const closure = await hostApt.resolve(COMPILER_PACKAGES[arch]!);
  const compilers = closure.filter((p) => !COMPILER_EXCLUDED.test(p.name));
  const runtime = closure.filter((p) => COMPILER_RUNTIME.test(p.name));
  const sysroot = (await targetApt.resolve(SYSROOT_PACKAGES)).filter((p) => !SYSROOT_EXCLUDED.test(p.name));
  return { key: toolchainKey(compilers, runtime, sysroot), hostArch: arch, hostApt, targetApt, compilers, runtime, sysroot };
}

export function toolchainDir(cacheDir: string, key: string): string {
  return join(cacheDir, 'toolchains', key);
}

const RECORD = 'toolchain.json';

/** The unpacked toolchain for the plan, downloaded and unpacked now when it is not cached. */
export async function ensureToolchain(cacheDir: string, plan: ToolchainPlan, log: (line: string) => void): Promise<Toolchain> {
  const dir = toolchainDir(cacheDir, plan.key);
  markUsed(cacheDir, dir);
  const cached = await readToolchain(dir);
  if (cached) return cached;

  log(
    `toolchain ${plan.key.slice(0, 12)}: ${plan.compilers.length} compiler and ${plan.runtime.length} runtime packages (${plan.hostArch}), ${plan.sysroot.length} sysroot packages (arm64)`,
  );
  const tmp = `${dir}.tmp-${process.pid}`;
  await rm(tmp, { recursive: true, force: true });
  await mkdir(tmp, { recursive: true });
  try {
    const hostDebs = await plan.hostApt.download([...plan.compilers, ...plan.runtime], log);
    await unpackInto(join(tmp, 'compilers'), plan.compilers, hostDebs);
    await unpackInto(join(tmp, 'runtime'), plan.runtime, hostDebs);
    const sysrootDebs = await plan.targetApt.download(plan.sysroot, log);
    await unpackInto(join(tmp, 'sysroot'), plan.sysroot, sysrootDebs);
    // Absolute links (libz.so, the loader's /lib64 link) must stay inside their tree.
    for (const tree of ['compilers', 'runtime', 'sysroot']) await relativizeSymlinks(join(tmp, tree));
    await relocatePkgConfig(join(tmp, 'sysroot'), dir);
    await writeWrappers(tmp, dir, plan.hostArch);
    const versions = {
      gcc: versionOf(plan.compilers, /^gcc-12(-aarch64-linux-gnu)?$/),
      binutils: versionOf(plan.compilers, /^binutils-aarch64-linux-gnu$/),
      libc: versionOf(plan.sysroot, /^libc6-dev$/),
    };
    await writeFile(join(tmp, RECORD), JSON.stringify({ key: plan.key, versions, compilers: plan.compilers, sysroot: plan.sysroot }, null, 2) + '\n');
    await mkdir(join(dir, '..'), { recursive: true });
    try {
      await rename(tmp, dir);
    } catch (cause) {
      if (!(await readToolchain(dir))) throw cause;
    }
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
  const ready = await readToolchain(dir);
  if (!ready) throw new InfraError(`toolchain ${dir} is unreadable right after unpacking`);
  // A compiler that cannot run here should fail now, naming itself, not inside a build log.
  const probe = await run(join(ready.bin, `${CROSS_PREFIX}gcc`), ['-dumpfullversion'], { allowFailure: true });
  if (probe.exitCode !== 0) throw new InfraError(`the pinned compiler in ${ready.bin} does not run on this host: ${(probe.stderr || probe.stdout).trim()}`);
  log(`toolchain ready: gcc ${ready.versions.gcc}, binutils ${ready.versions.binutils}, sysroot libc ${ready.versions.libc} (${dir})`);
  return ready;
}

async function readToolchain(dir: string): Promise<Toolchain | undefined> {
  try {
    const record = JSON.parse(await readFile(join(dir, RECORD), 'utf8')) as { key: string; versions: Record<string, string> };
    const bin = join(dir, 'bin');
    await stat(join(bin, `${CROSS_PREFIX}gcc`));
    return {
      key: record.key,
      dir,
      bin,
      sysroot: join(dir, 'sysroot'),
      env: { PATH: [bin, process.env.PATH ?? '/usr/bin:/bin'].join(delimiter) },
      versions: record.versions,
    };
  } catch {
    return undefined;
  }
}

/** What a component records of the toolchain it was built with (its key holds the toolchain's key). */
export function toolchainRecord(toolchain: Toolchain): Record<string, string> {
  return { toolchain: toolchain.key.slice(0, 16), gcc: toolchain.versions.gcc ?? 'unknown', binutils: toolchain.versions.binutils ?? 'unknown', 'sysroot libc': toolchain.versions.libc ?? 'unknown' };
}

function versionOf(packages: readonly PackageVersion[], name: RegExp): string {
  return packages.find((p) => name.test(p.name))?.version ?? 'unknown';
}

async function unpackInto(root: string, packages: readonly PackageVersion[], debs: Map<string, string>): Promise<void> {
  await mkdir(root, { recursive: true });
  for (const p of packages) {
    const deb = debs.get(p.name);
    if (!deb) throw new InfraError(`no downloaded archive for ${p.name}`);
    await run('dpkg-deb', ['-x', deb, root]);
  }
}

/**
 * Debian's -dev packages link e.g. libz.so to /lib/aarch64-linux-gnu/libz.so.1.2.13, an
 * absolute path: followed by the linker through a -L into the sysroot, it would reach the
 * host's file system (where it is missing, and ld silently takes libz.a instead, or worse,
 * on an arm64 host, finds the host's own library). Every absolute link is made relative.
 */
export async function relativizeSymlinks(root: string, dir = root): Promise<number> {
  let changed = 0;
  for (const name of await readdir(dir)) {
    const path = join(dir, name);
    const st = await lstat(path);
    if (st.isDirectory()) changed += await relativizeSymlinks(root, path);
    else if (st.isSymbolicLink()) {
      const target = await readlink(path);
      if (!target.startsWith('/')) continue;
      await unlink(path);
      await symlink(relative(dirname(path), join(root, target)) || '.', path);
      changed++;
    }
  }
  return changed;
}

/**
 * The sysroot's .pc files name /usr: point them at the sysroot's final place, so pkg-config
 * needs no sysroot prefixing and a build can put its own staged .pc files (with their own
 * absolute paths) beside them.
 */
async function relocatePkgConfig(sysroot: string, finalDir: string): Promise<void> {
  const finalSysroot = join(finalDir, 'sysroot');
  for (const rel of [`usr/lib/${TARGET_TRIPLET}/pkgconfig`, 'usr/share/pkgconfig']) {
    const dir = join(sysroot, rel);
    // A folder the sysroot's packages did not make holds no .pc file to move.
    for (const name of await readdir(dir).catch(() => [] as string[])) {
      if (!name.endsWith('.pc')) continue;
      const text = await readFile(join(dir, name), 'utf8');
      await writeFile(join(dir, name), pointPkgConfigAt(text, finalSysroot));
    }
  }
}

/** A .pc file's /usr variables moved under root (the same rule serves staged Xen tools). */
export function pointPkgConfigAt(text: string, root: string): string {
  return text.replace(/^(\w+)=\/usr\b/gm, (_m, name: string) => `${name}=${root}/usr`);
}

/**
 * Wrappers, written with the final paths. Every toolchain program runs through the unpacked
 * C runtime's own dynamic loader (`ld.so --library-path`), so the host's glibc, whatever its
 * version, is never involved. The user-facing names in bin/ do that (the drivers also get
 * --sysroot); so do the programs the driver and collect2 start by themselves (cc1, as,
 * collect2, ld …): each ELF program there is renamed `.<name>.real` and a script takes its
 * name. (GCC's -wrapper option would not do: with -pipe, as Xen builds, it wraps cc1 only.)
 */
async function writeWrappers(tmp: string, finalDir: string, arch: string): Promise<void> {
  const multiarch = HOST_MULTIARCH[arch]!;
  const bin = join(tmp, 'bin');
  await mkdir(bin, { recursive: true });
  const final = (...p: string[]) => join(finalDir, ...p);
  const loader = final('runtime', HOST_LOADER[arch]!);
  const libraryPath = [final('runtime', 'lib', multiarch), final('runtime', 'usr', 'lib', multiarch), final('compilers', 'usr', 'lib', multiarch)].join(delimiter);
  const sysroot = final('sysroot');
  const launch = (real: string, extra = '') =>
    ['#!/bin/sh', `exec ${shellQuote(loader)} --library-path ${shellQuote(libraryPath)} ${shellQuote(real)}${extra} "$@"`, ''].join('\n');
  const finalOf = (path: string) => final('compilers', relative(join(tmp, 'compilers'), path));

  const realBin = join(tmp, 'compilers', 'usr', 'bin');
  const names = (await readdir(realBin)).filter((n) => n.startsWith(CROSS_PREFIX));
  for (const real of names) {
    // gcc-12 → gcc: build systems ask for the unversioned names.
    const name = real.replace(/-12$/, '');
    if (name !== real && names.includes(name)) continue;
    const driver = /^aarch64-linux-gnu-(gcc|cpp|g\+\+)$/.test(name);
    await writeExecutable(join(bin, name), launch(final('compilers', 'usr', 'bin', real), driver ? ` --sysroot=${shellQuote(sysroot)}` : ''));
  }
  if (!(await stat(join(bin, `${CROSS_PREFIX}gcc`)).then(() => true, () => false))) {
    throw new InfraError(`the compiler packages unpacked no ${CROSS_PREFIX}gcc-12 into ${realBin}`);
  }
  // The driver's own programs (cc1, collect2, lto1 …) and the binutils it runs (as, ld …).
  const gccLib = join(tmp, 'compilers', 'usr', 'lib', 'gcc-cross', TARGET_TRIPLET);
  // Folders a compiler package does not make hold no program to wrap.
  const internal = [join(tmp, 'compilers', 'usr', TARGET_TRIPLET, 'bin'), ...(await readdir(gccLib).catch(() => [] as string[])).map((v) => join(gccLib, v))];
  for (const dir of internal) {
    for (const name of await readdir(dir).catch(() => [] as string[])) {
      const path = join(dir, name);
      const st = await lstat(path);
      if (st.isSymbolicLink()) {
        const target = join(dirname(path), await readlink(path));
        if (!(await isProgram(target))) continue;
        await unlink(path);
        await writeExecutable(path, launch(finalOf(target)));
      } else if (await isProgram(path)) {
        const real = join(dir, `.${name}.real`);
        await rename(path, real);
        await writeExecutable(path, launch(finalOf(real)));
      }
    }
  }
  const pkgconfigDirs = [`usr/lib/${TARGET_TRIPLET}/pkgconfig`, 'usr/share/pkgconfig'].map((d) => join(sysroot, d)).join(delimiter);
  await writeExecutable(
    join(bin, `${CROSS_PREFIX}pkg-config`),
    // PKG_CONFIG_LIBDIR replaces the host's search path: no host .pc file is ever seen.
    ['#!/bin/sh', `PKG_CONFIG_LIBDIR=${shellQuote(pkgconfigDirs)}`, 'export PKG_CONFIG_LIBDIR', 'exec pkg-config "$@"', ''].join('\n'),
  );
}

/** An executable ELF file that is not a shared library (those the loader maps, never runs). */
async function isProgram(path: string): Promise<boolean> {
  // A link whose target is missing is no program to wrap.
  const st = await stat(path).catch(() => undefined);
  if (!st?.isFile() || (st.mode & 0o111) === 0 || /\.so(\.|$)/.test(path)) return false;
  const file = await open(path, 'r');
  try {
    const head = Buffer.alloc(4);
    await file.read(head, 0, 4, 0);
    return isElf(head);
  } finally {
    await file.close();
  }
}

async function writeExecutable(path: string, text: string): Promise<void> {
  await writeFile(path, text);
  await chmod(path, 0o755);
}
