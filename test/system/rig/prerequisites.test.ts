// Host tool checks against the real PATH and file system: no fake commands stand in for tools.
import { describe, expect, it } from 'vitest';
import { InfraError } from '../../../src/errors.js';
import { HOST_TOOLS, ensureHostTools, findCommand, installCommand, missingTools, runNeeds, toolsFor, type HostTool } from '../../../src/host/prerequisites.js';


describe('host tools', () => {
  it('finds a command that is installed, and not on an empty PATH', async () => {
    expect(await findCommand('cpio')).toMatch(/\/cpio$/);
    expect(await findCommand('cpio', '/nonexistent-dir')).toBeUndefined();
  });

  it('lists every missing tool of a need at once and installs them in one apt-get call', async () => {
    // On a PATH with nothing on it, every command of the boot is missing; files are looked up as files.
    const missing = await missingTools(toolsFor(['boot']), '/nonexistent-dir');
    expect(missing.map((t) => t.what)).toEqual(['qemu-system-aarch64', 'dtc', 'mkimage', 'mke2fs', 'sfdisk', 'cpio', 'zstd']);
    expect(installCommand(missing)).toEqual([
      'apt-get', 'install', '-y', '--no-install-recommends',
      'cpio', 'device-tree-compiler', 'e2fsprogs', 'fdisk', 'qemu-system-arm', 'u-boot-tools', 'zstd',
    ]);
  });

  it('names each package once, even when several tools come from it', () => {
    const kmod = HOST_TOOLS.filter((t) => t.pkg === 'kmod');
    expect(kmod.length).toBe(2);
    expect(installCommand(kmod)).toEqual(['apt-get', 'install', '-y', '--no-install-recommends', 'kmod']);
  });

  it('without root or passwordless sudo, fails naming the tools and the command, and installs nothing', async () => {
    const fake: HostTool = { what: '/nonexistent/xpv-tool', pkg: 'xpv-no-such-package', needs: ['boot'] };
    expect(await missingTools([fake])).toEqual([fake]);
    const lines: string[] = [];
    const original = HOST_TOOLS as HostTool[];
    original.push(fake);
    try {
      const err = await ensureHostTools(['boot'], { log: (l) => lines.push(l), privilege: 'none' }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(InfraError);
      expect((err as Error).message).toBe(
        'missing host tools: /nonexistent/xpv-tool (package xpv-no-such-package); installing them needs root or passwordless sudo. ' +
          'As root, run: apt-get install -y --no-install-recommends xpv-no-such-package',
      );
      expect(lines).toEqual([]);
    } finally {
      original.pop();
    }
  });

  it('a run checks build, boot and snapshot tools together; a prebuilt rig needs only the boot', () => {
    const debian = toolsFor(runNeeds('debian')).map((t) => t.what);
    for (const t of ['qemu-system-aarch64', 'zstd', 'gcc', 'make', 'ninja', 'apt-get', 'dpkg-deb']) expect(debian).toContain(t);
    expect(debian).not.toContain('git');
    expect(toolsFor(runNeeds('source')).map((t) => t.what)).toEqual(expect.arrayContaining(['git', 'iasl', 'autoconf', 'gcc']));
    expect(toolsFor(runNeeds('prebuilt')).every((t) => t.needs.includes('boot'))).toBe(true);
  });

  it('never asks the host for a cross compiler, arm64 libraries or a foreign architecture', () => {
    for (const t of HOST_TOOLS) {
      expect(t.pkg).not.toMatch(/aarch64|arm64|:/);
      expect(t.what).not.toMatch(/aarch64-linux-gnu-/);
    }
  });
});
