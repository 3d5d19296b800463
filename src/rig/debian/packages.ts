// Unpacked .deb files, one folder per package, so every file we take can name the package
// (and exact version) it came from.
import { lstat, mkdir, readlink } from 'node:fs/promises';
import { dirname, join, posix } from 'node:path';
import { run } from '../../host/exec.js';
import { InfraError } from '../../errors.js';
import type { PackageVersion } from './apt.js';

export interface PackageFile {
  pkg: PackageVersion;
  /** Absolute path on the host, inside the package's folder. */
  hostPath: string;
  /** The path as the package ships it (e.g. /lib/aarch64-linux-gnu/libc.so.6). */
  path: string;
}

/**
 * Debian bookworm packages still ship some files under /lib, /bin and /sbin while our
 * ramdisks are merged-usr: look a path up under both spellings.
 */
export function pathAliases(path: string): string[] {
  const m = /^\/(lib|bin|sbin)(\/.*)$/.exec(path);
  if (m) return [path, `/usr/${m[1]}${m[2]}`];
  const u = /^\/usr\/(lib|bin|sbin)(\/.*)$/.exec(path);
  if (u) return [path, `/${u[1]}${u[2]}`];
  return [path];
}

/** The merged-usr spelling of a path: where it goes in our ramdisks. */
export function mergedUsrPath(path: string): string {
  const m = /^\/(lib|bin|sbin)(\/.*)?$/.exec(path);
  return m ? `/usr/${m[1]}${m[2] ?? ''}` : path;
}

const UNPACK_JOBS = 4;

export class PackageTrees {
  private constructor(
    readonly root: string,
    private readonly trees: { pkg: PackageVersion; dir: string }[],
  ) {}

  /** dpkg -x each .deb into root/<name>; the host's dpkg database is never involved. */
  static async unpack(root: string, packages: readonly PackageVersion[], debs: Map<string, string>): Promise<PackageTrees> {
    const trees = packages.map((pkg) => ({ pkg, dir: join(root, pkg.name) }));
    const queue = [...trees];
    // dpkg-deb spends its time in decompression: a few at once use both cores.
    const worker = async () => {
      for (let t = queue.shift(); t; t = queue.shift()) {
        const deb = debs.get(t.pkg.name);
        if (!deb) throw new InfraError(`no downloaded archive for ${t.pkg.name}`);
        await mkdir(t.dir, { recursive: true });
        await run('dpkg-deb', ['-x', deb, t.dir]);
      }
    };
    await Promise.all(Array.from({ length: UNPACK_JOBS }, worker));
    return new PackageTrees(root, trees);
  }

  /**
   * The same package set with more trees searched first: files we built (the Xen tools and
   * their libraries) then win over any Debian package shipping the same path.
   */
  withTreesFirst(extra: readonly { pkg: PackageVersion; dir: string }[]): PackageTrees {
    return new PackageTrees(this.root, [...extra, ...this.trees]);
  }

  get packages(): PackageVersion[] {
    return this.trees.map((t) => t.pkg);
  }

  version(name: string): string {
    const t = this.trees.find((x) => x.pkg.name === name);
    if (!t) throw new InfraError(`package ${name} is not part of the rig's package set`);
    return t.pkg.version;
  }

  /** The package folder of one package (for files whose names we discover by listing). */
  dirOf(name: string): string {
    const t = this.trees.find((x) => x.pkg.name === name);
    if (!t) throw new InfraError(`package ${name} is not part of the rig's package set`);
    return t.dir;
  }

  /** Finds a path (file, directory or symlink, not followed) in any package. */
  async find(path: string): Promise<PackageFile | undefined> {
    for (const alias of pathAliases(path)) {
      for (const t of this.trees) {
        const hostPath = join(t.dir, alias);
        if (await lstat(hostPath).then(() => true, () => false)) return { pkg: t.pkg, hostPath, path: alias };
      }
    }
    return undefined;
  }

  async require(path: string): Promise<PackageFile> {
    const found = await this.find(path);
    if (!found) throw new InfraError(`no package in the rig's set ships ${path}`);
    return found;
  }

  /**
   * Follows symlinks (and symlinked parent directories such as /lib64) across packages
   * to the regular file a path names.
   */
  async resolve(path: string, depth = 0): Promise<PackageFile> {
    if (depth > 20) throw new InfraError(`too many levels of symlinks resolving ${path}`);
    const found = await this.require(path);
    const st = await lstat(found.hostPath);
    if (!st.isSymbolicLink()) return found;
    const target = await readlink(found.hostPath);
    const next = target.startsWith('/') ? target : posix.join(dirname(found.path), target);
    return this.resolve(posix.normalize(next), depth + 1);
  }
}
