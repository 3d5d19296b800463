// Host prerequisite checks against the real PATH: no fake commands stand in for tools.
import { describe, expect, it } from 'vitest';
import { InfraError } from '../../src/errors.js';
import { COMMAND_PACKAGES, ensureForeignPackages, ensureHostPrerequisites, findCommand } from '../../src/host/prerequisites.js';

const log = () => {};

describe('host prerequisites', () => {
  it('finds a command that is installed', async () => {
    expect(await findCommand('cpio')).toMatch(/\/cpio$/);
    await expect(ensureHostPrerequisites({ commands: ['cpio', 'dpkg-deb', 'apt-get'] }, { log })).resolves.toBeUndefined();
  });

  it('does not find a command on an empty PATH', async () => {
    expect(await findCommand('cpio', '/nonexistent-dir')).toBeUndefined();
  });

  it('names a missing command that no package is known to ship', async () => {
    const err = await ensureHostPrerequisites({ commands: ['cpio', 'xpv-no-such-tool'] }, { log }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InfraError);
    expect((err as Error).message).toBe('missing host prerequisites: xpv-no-such-tool (no known Debian package)');
  });

  it('names a missing file and its package without installing when told not to', async () => {
    const err = await ensureHostPrerequisites({ files: ['/nonexistent/keyring.gpg'] }, { log, install: false }).catch((e: unknown) => e);
    expect((err as Error).message).toMatch(/\/nonexistent\/keyring\.gpg \(no known Debian package\)/);
  });

  it('maps the tools the seed flow uses to their Debian packages', () => {
    expect(COMMAND_PACKAGES['qemu-system-aarch64']).toBe('qemu-system-arm');
    expect(COMMAND_PACKAGES.mkimage).toBe('u-boot-tools');
    expect(COMMAND_PACKAGES.sfdisk).toBe('fdisk');
    expect(COMMAND_PACKAGES.depmod).toBe('kmod');
  });

  it('maps the source-build tools to their Debian packages', () => {
    expect(COMMAND_PACKAGES.flex).toBe('flex');
    expect(COMMAND_PACKAGES.ninja).toBe('ninja-build');
    expect(COMMAND_PACKAGES['dpkg-source']).toBe('dpkg-dev');
    expect(COMMAND_PACKAGES['qemu-aarch64']).toBe('qemu-user');
    // The source provider's own: refs, the tools' configure, libxl's ACPI tables on Arm.
    expect(COMMAND_PACKAGES.git).toBe('git');
    expect(COMMAND_PACKAGES.autoconf).toBe('autoconf');
    expect(COMMAND_PACKAGES.iasl).toBe('acpica-tools');
  });
});

describe('foreign-architecture host packages', () => {
  it('does nothing when the arm64 -dev packages are already installed', async () => {
    const lines: string[] = [];
    await ensureForeignPackages('arm64', ['zlib1g-dev', 'libxen-dev'], { log: (l) => lines.push(l), install: false });
    expect(lines).toEqual([]);
  });

  it('says what to run when a package is missing and installing is not allowed', async () => {
    const err = await ensureForeignPackages('arm64', ['xpv-no-such-package'], { log, install: false }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InfraError);
    expect((err as Error).message).toMatch(/host setup: missing xpv-no-such-package:arm64; run as root: apt-get update && apt-get install -y --no-install-recommends xpv-no-such-package:arm64/);
  });
});
