// Host prerequisite checks against the real PATH: no fake commands stand in for tools.
import { describe, expect, it } from 'vitest';
import { InfraError } from '../../src/errors.js';
import { COMMAND_PACKAGES, ensureHostPrerequisites, findCommand } from '../../src/host/prerequisites.js';

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
});
