// The user's extra build arguments are part of what a component is built from: they go into
// its key (and so the rig's) and its "built" text, and only when given, so every component
// built without them keeps the key it had.
import { describe, expect, it } from 'vitest';
import type { TreeOrigin } from '../../../src/rig/build/origin.js';
import { planSourceQemu, sourceQemuBuiltText } from '../../../src/rig/source/qemu.js';
import { planSourceXen, sourceXenBuiltText } from '../../../src/rig/source/xen.js';

const origin = (name: string): TreeOrigin => ({
  kind: 'git',
  ref: { repoInput: `${name}-repo`, refInput: `${name}-ref`, repo: `https://example.org/${name}.git`, ref: 'master', commit: 'a'.repeat(40), via: 'refs/heads/master' },
});
const toolchain = 't'.repeat(64);
const meson = { name: 'meson', version: '1.7.0-1', arch: 'all' };
const host = { gcc: '12.2.0' };

describe('extra build arguments in the component keys', () => {
  it("leave Xen's key as it was when none are given, and change it when some are", async () => {
    const plain = await planSourceXen(origin('xen'), toolchain);
    expect((await planSourceXen(origin('xen'), toolchain, [], {})).key).toBe(plain.key);
    expect((await planSourceXen(origin('xen'), toolchain, [], { configure: [], make: [] })).key).toBe(plain.key);
    expect(Object.keys(plain.inputs)).not.toContain('userMake');

    const debug = await planSourceXen(origin('xen'), toolchain, [], { make: ['debug=y', 'EXTRA_CFLAGS_XEN_CORE=-Wno-error -O1'] });
    const golang = await planSourceXen(origin('xen'), toolchain, [], { configure: ['--disable-golang'] });
    expect(new Set([plain.key, debug.key, golang.key]).size).toBe(3);
    expect(debug.inputs.userMake).toEqual(['debug=y', 'EXTRA_CFLAGS_XEN_CORE=-Wno-error -O1']);
    expect(golang.inputs.userConfigure).toEqual(['--disable-golang']);
    // Their order is what the build sees, so it is part of the key.
    expect((await planSourceXen(origin('xen'), toolchain, [], { make: ['EXTRA_CFLAGS_XEN_CORE=-Wno-error -O1', 'debug=y'] })).key).not.toBe(debug.key);

    expect(sourceXenBuiltText(debug, host, ['libs'])).toMatch(/; the user's make arguments \(every make\): debug=y "EXTRA_CFLAGS_XEN_CORE=-Wno-error -O1"$/);
    expect(sourceXenBuiltText(golang, host, ['libs'])).toMatch(/; the user's configure arguments \(tools\): --disable-golang$/);
    expect(sourceXenBuiltText(plain, host, ['libs'])).not.toMatch(/the user's (make|configure)/);
  });

  it("leave QEMU's key as it was when none are given, and change it when some are", async () => {
    const plain = await planSourceQemu(origin('qemu'), meson, 'x'.repeat(64), toolchain);
    expect((await planSourceQemu(origin('qemu'), meson, 'x'.repeat(64), toolchain, [], undefined, [])).key).toBe(plain.key);
    const werror = await planSourceQemu(origin('qemu'), meson, 'x'.repeat(64), toolchain, [], undefined, ['--disable-werror']);
    expect(werror.key).not.toBe(plain.key);
    expect(werror.inputs.userConfigure).toEqual(['--disable-werror']);
    // Ours stay as they were; the user's come after them on configure's command line.
    expect(werror.inputs.configure).toEqual(plain.inputs.configure);
    expect(sourceQemuBuiltText(werror, host)).toContain("; the user's configure arguments: --disable-werror");
    expect(sourceQemuBuiltText(plain, host)).not.toContain("the user's configure");
  });
});
