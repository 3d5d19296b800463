// The versions a report shows for trees built from source: the tree's own version and where
// it came from (src/rig/build/origin.ts releaseText), for Xen, QEMU and Linux alike.
import { describe, expect, it } from 'vitest';
import { releaseText, type TreeOrigin } from '../../../src/rig/build/origin.js';
import { linuxVersions, type AssembledRig } from '../../../src/rig/debian/assemble.js';
import type { PackageTrees } from '../../../src/rig/debian/packages.js';
import { qemuVersion } from '../../../src/rig/source/qemu.js';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const COMMIT = '1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b';
const git = (ref: string): TreeOrigin => ({ kind: 'git', ref: { repoInput: 'qemu-repo', refInput: 'qemu-ref', repo: 'https://gitlab.com/qemu-project/qemu.git', ref, commit: COMMIT, via: 'refs/heads/master' } });
const checkout = (uncommitted: boolean): TreeOrigin => ({
  kind: 'path',
  tree: { label: '--qemu-path', path: '/src/qemu', id: `git:${COMMIT}`, commit: COMMIT, ...(uncommitted ? { uncommitted: { sha256: 'f'.repeat(64), files: 1 } } : {}), files: [] },
});

describe('versions of trees built from source', () => {
  it('says the version, the ref and the commit', () => {
    expect(releaseText('10.1.50', git('master'))).toBe('10.1.50 (master @ 1a2b3c4d5e6f)');
    // A ref that is the commit itself is not said twice.
    expect(releaseText('4.23-unstable', git(COMMIT))).toBe('4.23-unstable (1a2b3c4d5e6f)');
    expect(releaseText('10.1.50', checkout(false))).toBe('10.1.50 (local checkout 1a2b3c4d5e6f)');
    expect(releaseText('10.1.50', checkout(true))).toBe('10.1.50 (local checkout 1a2b3c4d5e6f + uncommitted changes)');
    expect(releaseText('6.12.0', { kind: 'path', tree: { label: '--linux-path', path: '/src/linux', id: `files:${'0123456789ab'.repeat(5)}`, files: [] } })).toBe('6.12.0 (local directory 0123456789ab)');
  });

  it("reads QEMU's version from its VERSION file, and nothing that is not a version", async () => {
    const dir = await mkdtemp(join(tmpdir(), 'qemu-version-'));
    try {
      expect(await qemuVersion(dir)).toBe('unknown');
      await writeFile(join(dir, 'VERSION'), '10.1.50\n');
      expect(await qemuVersion(dir)).toBe('10.1.50');
      await writeFile(join(dir, 'VERSION'), '$(rm -rf /)\n');
      expect(await qemuVersion(dir)).toBe('unknown');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("gives Linux built from the user's ref its commit, and Debian's source or package their own words", () => {
    const built = { release: '6.18.0-rc3-xen-pvh-virtio' } as AssembledRig;
    const pkgs = { version: (name: string) => `${name}=6.1.158-1` } as unknown as PackageTrees;
    expect(linuxVersions(built, pkgs, git('v6.18-rc3'))).toEqual({
      linux: '6.18.0-rc3-xen-pvh-virtio (v6.18-rc3 @ 1a2b3c4d5e6f)',
      'linux-commit': COMMIT,
      'linux-repo': 'https://gitlab.com/qemu-project/qemu.git',
      'linux-ref': 'v6.18-rc3',
    });
    expect(linuxVersions(built, pkgs, { kind: 'debian' })).toEqual({ linux: '6.18.0-rc3-xen-pvh-virtio (built from source)' });
    expect(linuxVersions({ ...built, kernelPackage: 'linux-image-arm64' }, pkgs, undefined)).toEqual({ linux: 'linux-image-arm64=6.1.158-1' });
  });
});
