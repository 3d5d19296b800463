// trixie's meson for every QEMU build (bookworm's is too old for QEMU 10): a Debian package
// (arch all, pure Python), unpacked once under <cache>/tools and put first on the build's PATH.
import { mkdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { run } from '../../host/exec.js';
import { markUsed } from '../../cache/index.js';
import type { PackageVersion, PrivateApt } from './apt.js';

export async function mesonTool(cacheDir: string, apt: PrivateApt, meson: PackageVersion): Promise<string> {
  const dir = join(cacheDir, 'tools', `${meson.name}_${meson.version.replace(/:/g, '%3a')}`);
  markUsed(cacheDir, dir);
  if (await stat(join(dir, 'usr', 'bin', 'meson')).then(() => true, () => false)) return dir;
  const deb = await apt.downloadOne(meson);
  const tmp = `${dir}.tmp-${process.pid}`;
  await mkdir(join(cacheDir, 'tools'), { recursive: true });
  await run('dpkg-deb', ['-x', deb, tmp]);
  await run('mv', ['-T', tmp, dir]);
  return dir;
}
