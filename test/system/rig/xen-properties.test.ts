// Capabilities read off the dom0less properties a Xen binary parses. The name a parser asks
// for is a string literal, so it is in the compiled code: shown here on code compiled by
// the pinned cross compiler (the same as Xen's dom0less parsers call dt_property_read_*),
// and on the debian rig's real hypervisor in backend.test.ts.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { run } from '../../../src/host/exec.js';
import { defaultCacheDir } from '../../../src/rig/cache.js';
import { planDebianRig } from '../../../src/rig/debian/build.js';
import { CROSS_PREFIX, ensureToolchain } from '../../../src/rig/toolchain/index.js';
import { xenParses, xenPropertyCapabilities } from '../../../src/rig/capabilities.js';

const dir = mkdtempSync(join(tmpdir(), 'xpv-props-'));
afterAll(() => rm(dir, { recursive: true, force: true }));

/** A domain builder's property reads, as Xen's C has them; `extra` adds more. */
function parser(extra: string): string {
  return [
    'struct dt_device_node;',
    'int dt_property_read_bool(const struct dt_device_node *n, const char *name);',
    'int dt_property_read_string(const struct dt_device_node *n, const char *name, const char **out);',
    'int dt_property_read_u32_array(const struct dt_device_node *n, const char *name, unsigned int *out, unsigned int nr);',
    'int build(const struct dt_device_node *n, unsigned int *cells, const char **s) {',
    '  int r = dt_property_read_bool(n, "vpl011");',
    '  r += dt_property_read_string(n, "xen,enhanced", s);',
    extra,
    '  return r;',
    '}',
    '',
  ].join('\n');
}

async function compile(name: string, source: string): Promise<Buffer> {
  const plan = await planDebianRig(defaultCacheDir(), { provider: 'debian' }, () => {});
  const tc = await ensureToolchain(defaultCacheDir(), plan.toolchain, () => {});
  writeFileSync(join(dir, `${name}.c`), source);
  await run(join(tc.bin, `${CROSS_PREFIX}gcc`), ['-O2', '-ffreestanding', '-c', '-o', join(dir, `${name}.o`), join(dir, `${name}.c`)]);
  return readFile(join(dir, `${name}.o`));
}

describe('capabilities from the properties a Xen parses', () => {
  it('finds the dom0less virtio-pci property in code that reads virtio-pci-ranges, and only there', async () => {
    const seedLike = await compile(
      'seed',
      parser('  r += dt_property_read_string(n, "virtio-pci", s);\n  r += dt_property_read_u32_array(n, "virtio-pci-ranges", cells, 6);'),
    );
    const plain = await compile('plain', parser('  r += dt_property_read_u32_array(n, "trap-unmapped-accesses", cells, 1);'));
    expect(seedLike.readUInt16LE(18)).toBe(183); // an arm64 object
    expect(xenPropertyCapabilities(seedLike)).toEqual(['vpl011', 'dom0less-virtio-pci']);
    expect(xenPropertyCapabilities(plain)).toEqual(['vpl011', 'trap-unmapped-accesses']);
  }, 300_000);

  it('does not take a mention of virtio-pci alone (e.g. a log message) for the property', () => {
    const text = Buffer.from('\0virtio-pci: device model not ready\0xen,domain\0', 'latin1');
    expect(xenParses(text, 'virtio-pci')).toBe(true);
    expect(xenPropertyCapabilities(text)).toEqual(['dom0less']);
  });
});
