// QEMU's meson subprojects for trees shaped like upstream's git (src/rig/build/subprojects.ts):
// wraps read from the tree as untrusted input, subprojects put in place from the user's
// folder (trees, or archives checked against the wrap's hash), from our cache, and the
// errors that name what is missing and how to provide it. Real files throughout; the
// download itself (real meson, real network refused) is in test/system/run/source-rig.test.ts.
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConfigError, InfraError } from '../../../src/errors.js';
import { ComponentBuild } from '../../../src/rig/build/component.js';
import { ensureSubprojects, neededOf, parseWrap, readWraps, type SubprojectsReport } from '../../../src/rig/build/subprojects.js';

const KEYCODES_WRAP = `[wrap-git]
url = https://gitlab.com/qemu-project/keycodemapdb.git
revision = f5772a62ec52591ff6870b7e8ef32482371f22c6
depth = 1
`;

const ARCHIVE = Buffer.from('not really a tarball, but hashed like one\n');
const ARCHIVE_SHA = createHash('sha256').update(ARCHIVE).digest('hex');
const CRATE_WRAP = `[wrap-file]
directory = either-1.12.0
source_url = https://crates.io/api/v1/crates/either/1.12.0/download
source_filename = either-1.12.0.tar.gz
source_hash = ${ARCHIVE_SHA}
#method = cargo
patch_directory = either-1-rs

# bump this version number on every change to meson.build or the patches:
# v2
`;

const DTC_WRAP = `[wrap-git]
url = https://gitlab.com/qemu-project/dtc.git
revision = b6910bec11614980a21e46fbccc35934b671bd81
depth = 1

[provide]
directory = not-a-field-of-the-wrap
`;

let scratch: string;
let tree: string;
let cacheDir: string;
const lines: string[] = [];

beforeEach(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'subprojects-'));
  tree = join(scratch, 'qemu');
  cacheDir = join(scratch, 'cache');
  await mkdir(join(tree, 'subprojects', 'libvhost-user'), { recursive: true });
  await writeFile(join(tree, 'subprojects', 'keycodemapdb.wrap'), KEYCODES_WRAP);
  await writeFile(join(tree, 'subprojects', 'either-1-rs.wrap'), CRATE_WRAP);
  await writeFile(join(tree, 'subprojects', 'dtc.wrap'), DTC_WRAP);
  lines.length = 0;
});

afterEach(async () => {
  await rm(scratch, { recursive: true, force: true });
});

/** A folder the way a runner without network keeps subprojects. */
async function supplied(entries: { keycodes?: boolean; archive?: Buffer }): Promise<string> {
  const dir = join(scratch, 'supplied');
  await mkdir(dir, { recursive: true });
  if (entries.keycodes) {
    await mkdir(join(dir, 'keycodemapdb', 'tools'), { recursive: true });
    await writeFile(join(dir, 'keycodemapdb', 'README'), 'keycodemapdb\n');
  }
  if (entries.archive) await writeFile(join(dir, 'either-1.12.0.tar.gz'), entries.archive);
  return dir;
}

async function ensure(suppliedDir?: string): Promise<SubprojectsReport> {
  const build = await ComponentBuild.start(cacheDir, 'source-qemu', 'k'.repeat(64), (l) => lines.push(l));
  // No meson on this PATH: a download is tried for real and fails, as without network.
  return ensureSubprojects(tree, { cacheDir, build, env: { PATH: '/nonexistent' }, ...(suppliedDir ? { supplied: suppliedDir, suppliedLabel: '--qemu-subprojects' } : {}), log: (l) => lines.push(l) });
}

describe('wrap files', () => {
  it('reads the fields meson uses, the directory defaulting to the name, ignoring [provide]', async () => {
    const wraps = await readWraps(tree);
    expect(wraps.map((w) => w.name)).toEqual(['dtc', 'either-1-rs', 'keycodemapdb']);
    expect(wraps[0]).toEqual({ name: 'dtc', file: 'subprojects/dtc.wrap', kind: 'wrap-git', directory: 'dtc', url: 'https://gitlab.com/qemu-project/dtc.git', revision: 'b6910bec11614980a21e46fbccc35934b671bd81' });
    expect(wraps[1]).toMatchObject({ kind: 'wrap-file', directory: 'either-1.12.0', sourceFilename: 'either-1.12.0.tar.gz', sourceHash: ARCHIVE_SHA });
  });

  it('refuses a directory or file name that leaves subprojects/, naming the wrap and line', () => {
    expect(() => parseWrap('evil', '[wrap-git]\nurl = x\ndirectory = ../../etc\n')).toThrow(new ConfigError('subprojects/evil.wrap:3: directory = "../../etc" is not a plain file name (letters, digits, . _ + -)'));
    expect(() => parseWrap('evil', '[wrap-file]\nsource_filename = /tmp/x.tar.gz\n')).toThrow(/subprojects\/evil\.wrap:2: source_filename = "\/tmp\/x\.tar\.gz" is not a plain file name/);
    expect(() => parseWrap('evil', '[wrap-git]\ndirectory = ..\n')).toThrow(ConfigError);
    expect(() => parseWrap('junk', 'url = x\n')).toThrow(new ConfigError('subprojects/junk.wrap: not a meson wrap (no [wrap-file], [wrap-git] … section)'));
  });
});

describe('putting subprojects in place', () => {
  it('takes trees and archives from the user folder, checking each archive against its wrap', async () => {
    const report = await ensure(await supplied({ keycodes: true, archive: ARCHIVE }));
    expect(report.from).toEqual({ keycodemapdb: '--qemu-subprojects', 'either-1-rs': '--qemu-subprojects' });
    expect(await readFile(join(tree, 'subprojects', 'keycodemapdb', 'README'), 'utf8')).toBe('keycodemapdb\n');
    expect(await readFile(join(tree, 'subprojects', 'packagecache', 'either-1.12.0.tar.gz'))).toEqual(ARCHIVE);
    // dtc is in no source; it is downloaded only if configure says this build needs it.
    expect(report.unavailable).toEqual({ dtc: 'not in --qemu-subprojects, not cached' });
    expect(lines.join('\n')).toContain('qemu: not in the tree, --qemu-subprojects or the cache: dtc; downloaded only if configure needs them');
    expect(lines.join('\n')).not.toContain('meson subprojects download');
  });

  it('refuses an archive whose hash is not the one the wrap pins', async () => {
    const err = await ensure(await supplied({ keycodes: true, archive: Buffer.from('tampered\n') })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).toMatch(new RegExp(`^--qemu-subprojects: .*either-1\\.12\\.0\\.tar\\.gz has sha256 [0-9a-f]{64}, but subprojects/either-1-rs\\.wrap pins ${ARCHIVE_SHA}$`));
  });

  it('does not follow a symlink out of the user folder', async () => {
    const dir = await supplied({});
    const outside = join(scratch, 'outside', 'keycodemapdb');
    await mkdir(outside, { recursive: true });
    await symlink(outside, join(dir, 'keycodemapdb'));
    const err = await ensure(dir).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InfraError);
    expect((err as Error).message).toContain('keycodemapdb (subprojects/keycodemapdb.wrap: wrap-git');
  });

  it('leaves what the tree has alone and says so', async () => {
    for (const name of ['keycodemapdb', 'dtc']) {
      await mkdir(join(tree, 'subprojects', name));
      await writeFile(join(tree, 'subprojects', name, 'meson.build'), `project('${name}')\n`);
    }
    await mkdir(join(tree, 'subprojects', 'packagecache'));
    await writeFile(join(tree, 'subprojects', 'packagecache', 'either-1.12.0.tar.gz'), ARCHIVE);
    const report = await ensure();
    expect(report).toMatchObject({ from: { dtc: 'the tree', 'either-1-rs': 'the tree', keycodemapdb: 'the tree' }, unavailable: {} });
    expect(report.wraps.map((w) => w.name).sort()).toEqual(['dtc', 'either-1-rs', 'keycodemapdb']);
  });

  it('reuses a subproject an earlier build cached, by its pinned revision', async () => {
    const entry = join(cacheDir, 'sources', 'qemu-subprojects', 'keycodemapdb@f5772a62ec52591ff6870b7e8ef32482371f22c6', 'keycodemapdb');
    await mkdir(entry, { recursive: true });
    await writeFile(join(entry, 'README'), 'cached\n');
    const report = await ensure(await supplied({ archive: ARCHIVE }));
    expect(report.from.keycodemapdb).toBe('cache');
    expect(await readFile(join(tree, 'subprojects', 'keycodemapdb', 'README'), 'utf8')).toBe('cached\n');
  });

  it('stops at once without keycodemapdb (configure refuses the tree), naming it and how to provide it', async () => {
    const err = await ensure().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InfraError);
    const message = (err as Error).message;
    expect(message).toMatch(/^qemu: the tree lacks meson subprojects the build needs, and they could not be obtained:\n {2}keycodemapdb \(subprojects\/keycodemapdb\.wrap: wrap-git https:\/\/gitlab\.com\/qemu-project\/keycodemapdb\.git at f5772a62ec52591ff6870b7e8ef32482371f22c6\): not in qemu-subprojects \(not given\), not cached, and the download failed/);
    expect(message).toContain('On a runner without network, give qemu-subprojects a folder holding keycodemapdb/');
  });

  it('does not take an empty clone (what a failed download leaves) for the subproject', async () => {
    await mkdir(join(tree, 'subprojects', 'keycodemapdb', '.git'), { recursive: true });
    const err = await ensure().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InfraError);
    expect((err as Error).message).toContain('keycodemapdb (subprojects/keycodemapdb.wrap');
    // Nor is it left for configure to mistake it for one.
    await expect(readFile(join(tree, 'subprojects', 'keycodemapdb', '.git', 'HEAD'))).rejects.toThrow();
    expect(await readWraps(tree)).toHaveLength(3);
    expect(lines.join('\n')).toContain('meson subprojects download keycodemapdb');
  });

  it('a folder that is not one is an error naming the input', async () => {
    const err = await ensure(join(scratch, 'no-such-folder')).catch((e: unknown) => e);
    expect(err).toEqual(new ConfigError(`--qemu-subprojects = ${join(scratch, 'no-such-folder')}: not a folder`));
  });
});

describe("configure's word on what the build needed", () => {
  const report: SubprojectsReport = { from: {}, unavailable: { dtc: 'x', 'either-1-rs': 'y', slirp: 'z' }, wraps: [] };

  it('names the subprojects its errors mention, not those on the command line', async () => {
    const wraps = await readWraps(tree);
    const log = [
      '$ /src/configure --enable-slirp --enable-fdt=system',
      'Run-time dependency slirp found: YES 4.7.0',
      'meson.build:2106:16: ERROR: Subproject "subprojects/dtc" required but not found.',
    ].join('\n');
    expect(neededOf(log, wraps, report)).toEqual(['dtc']);
    expect(neededOf('rust/meson.build:3:0: ERROR: Automatic wrap-based subproject downloading is disabled: either-1.12.0', wraps, report)).toEqual(['either-1-rs']);
    expect(neededOf('cc: error: unrelated.c: No such file', wraps, report)).toEqual([]);
    // configure's own check for keycodemapdb names no subproject.
    expect(neededOf('\nERROR: missing subprojects\n', wraps, { from: {}, unavailable: { keycodemapdb: 'x', dtc: 'y' }, wraps: [] })).toEqual(['keycodemapdb']);
  });
});
