// A ramdisk under construction: a merged-usr directory tree filled from package folders,
// with each program's shared libraries found by reading its ELF headers, then packed as
// a gzip'd newc cpio (the format the kernel unpacks into its initial rootfs).
import { createReadStream, createWriteStream } from 'node:fs';
import { chmod, copyFile, lstat, lutimes, mkdir, readFile, readdir, readlink, rm, symlink, writeFile } from 'node:fs/promises';
import { dirname, join, posix } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { run } from '../../host/exec.js';
import { InfraError } from '../../errors.js';
import type { PackageVersion } from './apt.js';
import { isElf, readElfNeeds } from '../build/elf.js';
import { mergedUsrPath, type PackageTrees } from './packages.js';

/** Where the arm64 dynamic loader looks when a binary names no RUNPATH. */
const LIBRARY_DIRS = ['/lib/aarch64-linux-gnu', '/usr/lib/aarch64-linux-gnu', '/lib', '/usr/lib'];

/** 2000-01-01T00:00:00Z: any fixed time works; zero looks like a bug in `ls -l`. */
const ARCHIVE_MTIME = 946684800;

export class RamdiskTree {
  private readonly installed = new Set<string>();
  private readonly contributors = new Map<string, PackageVersion>();

  private constructor(
    readonly dir: string,
    private readonly pkgs: PackageTrees,
  ) {}

  /** The bare skeleton: merged-usr links, mount points, root's home with ssh-safe modes. */
  static async create(dir: string, pkgs: PackageTrees): Promise<RamdiskTree> {
    const tree = new RamdiskTree(dir, pkgs);
    for (const d of ['usr/bin', 'usr/sbin', 'usr/lib', 'etc', 'proc', 'sys', 'dev', 'run', 'tmp', 'var/lib', 'var/log', 'mnt']) {
      await mkdir(join(dir, d), { recursive: true });
    }
    for (const [link, target] of [['bin', 'usr/bin'], ['sbin', 'usr/sbin'], ['lib', 'usr/lib'], ['var/run', '../run']] as const) {
      await symlink(target, join(dir, link));
    }
    await mkdir(join(dir, 'root/.ssh'), { recursive: true });
    await chmod(join(dir, 'root'), 0o700);
    await chmod(join(dir, 'root/.ssh'), 0o700);
    await chmod(join(dir, 'tmp'), 0o1777);
    return tree;
  }

  /** The packages whose files ended up in this tree. */
  get packages(): PackageVersion[] {
    return [...this.contributors.values()].sort((a, b) => a.name.localeCompare(b.name));
  }

  /** Marks a package as an input even though its files were copied by someone else. */
  credit(pkg: PackageVersion): void {
    this.contributors.set(pkg.name, pkg);
  }

  /** Copies a packaged path (following and re-creating symlinks); returns where the file landed. */
  async install(path: string, as?: string): Promise<string> {
    const found = await this.pkgs.require(path);
    const dest = mergedUsrPath(as ?? found.path);
    const st = await lstat(found.hostPath);
    if (!this.installed.has(dest)) {
      this.installed.add(dest);
      this.credit(found.pkg);
      await mkdir(dirname(join(this.dir, dest)), { recursive: true });
      if (st.isSymbolicLink()) {
        await symlink(await readlink(found.hostPath), join(this.dir, dest));
      } else {
        await copyFile(found.hostPath, join(this.dir, dest));
        await chmod(join(this.dir, dest), st.mode & 0o7777);
      }
    }
    if (!st.isSymbolicLink()) return dest;
    const target = await readlink(found.hostPath);
    const next = posix.normalize(target.startsWith('/') ? target : posix.join(posix.dirname(found.path), target));
    return this.install(next);
  }

  /** Installs an ELF program or library and, recursively, the loader and libraries it needs. */
  async installElf(path: string): Promise<void> {
    const dest = await this.install(path);
    await this.installNeeds(dest, path);
  }

  /**
   * Installs a program we built (not from a package) at dest, with the loader and libraries
   * it needs taken from the packages, exactly as for packaged programs.
   */
  async installBuilt(hostFile: string, dest: string, mode = 0o755): Promise<void> {
    await mkdir(dirname(join(this.dir, dest)), { recursive: true });
    await copyFile(hostFile, join(this.dir, dest));
    await chmod(join(this.dir, dest), mode);
    this.installed.add(dest);
    await this.installNeeds(dest, hostFile);
  }

  /** The loader and the libraries an installed ELF file names, recursively; path names it in errors. */
  private async installNeeds(dest: string, path: string): Promise<void> {
    const bytes = await readFile(join(this.dir, dest));
    if (!isElf(bytes)) return;
    const needs = readElfNeeds(bytes);
    if (needs.interpreter) await this.installElf(needs.interpreter);
    for (const soname of needs.needed) {
      const dirs = [...needs.runpath.map((d) => d.replace('$ORIGIN', posix.dirname(dest))), ...LIBRARY_DIRS];
      let found: string | undefined;
      for (const d of dirs) {
        if (await this.pkgs.find(`${d}/${soname}`)) {
          found = `${d}/${soname}`;
          break;
        }
      }
      if (!found) throw new InfraError(`${path} needs ${soname}, which no package in the rig's set ships`);
      if (!this.installed.has(mergedUsrPath(found))) await this.installElf(found);
    }
  }

  async write(path: string, text: string, mode = 0o644): Promise<void> {
    await mkdir(dirname(join(this.dir, path)), { recursive: true });
    await writeFile(join(this.dir, path), text, { mode });
    await chmod(join(this.dir, path), mode);
  }

  async link(path: string, target: string): Promise<void> {
    await mkdir(dirname(join(this.dir, path)), { recursive: true });
    await rm(join(this.dir, path), { force: true });
    await symlink(target, join(this.dir, path));
  }

  /**
   * Packs the tree as a gzip'd newc cpio owned by root, whoever builds it. Every entry gets
   * the same mtime, so one recipe gives byte-identical archives on every machine.
   */
  async pack(out: string): Promise<void> {
    const entries = await listTree(this.dir);
    for (const entry of [...entries].reverse()) await lutimes(join(this.dir, entry), ARCHIVE_MTIME, ARCHIVE_MTIME);
    const plain = `${out}.cpio-tmp`;
    await run('cpio', ['-o', '-H', 'newc', '-R', '0:0', '--reproducible', '--quiet', '-O', plain], {
      cwd: this.dir,
      input: Buffer.from(entries.join('\n') + '\n'),
    });
    await pipeline(createReadStream(plain), createGzip({ level: 9 }), createWriteStream(out));
    await rm(plain);
  }
}

/** Every entry under dir, relative, parents before children, in a stable order. */
async function listTree(dir: string, prefix = ''): Promise<string[]> {
  const out: string[] = [];
  const names = (await readdir(join(dir, prefix))).sort();
  for (const name of names) {
    const rel = prefix ? `${prefix}/${name}` : name;
    out.push(rel);
    const st = await lstat(join(dir, rel));
    if (st.isDirectory()) out.push(...(await listTree(dir, rel)));
  }
  return out;
}
