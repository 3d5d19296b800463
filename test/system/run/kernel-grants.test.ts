// Linux built from Debian's own 6.12 source (kernel: source) with our small config, on the
// debian rig's Xen and QEMU: it boots dom0 and a domU, and grant-based virtio works end to
// end (virtio-pci-grants asserts the evidence: platform DMA negotiated, dom0 mapping domU's
// granted pages). Cold, the kernel takes about 4 minutes on 2 cores; the source rig's tests
// then reuse the same `linux` component.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readRig } from '../../../src/rig/bundle.js';
import { planDebianRig } from '../../../src/rig/debian/build.js';
import { findComponent } from '../../../src/rig/build/component.js';
import { defaultCacheDir, rigDir } from '../../../src/rig/index.js';
import { KERNEL_COMPONENT, KERNEL_CONFIG } from '../../../src/rig/kernel/index.js';
import { validateJunit } from '../../support/junit.js';
import { startCli } from '../../support/cli.js';

function property(xml: string, name: string): string | undefined {
  return new RegExp(`<property name="${name.replace(/\./g, '\\.')}" value="([^"]*)"`).exec(xml)?.[1];
}

describe('kernel: source', () => {
  it('boots and carries grant-based virtio-net and virtio-blk through a QEMU backend in dom0', { timeout: 40 * 60_000 }, async () => {
    const run = startCli(['run', 'boot-smoke', 'virtio-pci-grants', '--kernel', 'source', '--timeout-minutes', '38']);
    const { code } = await run.done;
    expect(code, run.stderr()).toBe(0);
    const xml = readFileSync(run.junitPath, 'utf8');
    validateJunit(xml);
    expect(xml).toMatch(/<testsuite name="boot-smoke" [^\n]* failures="0" errors="0" skipped="0"/);
    expect(xml).toMatch(/<testsuite name="virtio-pci-grants" [^\n]* tests="11" failures="0" errors="0" skipped="0"/);
    expect(property(xml, 'rig.version.linux')).toMatch(/^6\.12\.\d+-xen-pvh-virtio \(built from source\)$/);

    const rig = await readRig(rigDir(defaultCacheDir(), property(xml, 'rig.key')!));
    expect(rig.manifest.capabilities).toContain('virtio-grants');
    const kernel = rig.manifest.files.find((f) => f.role === 'kernel')!;
    expect(kernel.origin.built).toMatch(/^Linux 6\.12\.\d+-xen-pvh-virtio built by xen-pvh-virtio \(linux-build-1\) from Debian source linux=6\.12\.\S+ \(trixie/);
    // Everything built in: the ramdisks load no modules and carry none.
    expect(rig.manifest.notes.join('\n')).toContain('everything built in: no modules');

    // The component records its own .config (every option of ours survived) and its timings.
    const plan = await planDebianRig(defaultCacheDir(), { provider: 'debian', kernel: 'source' }, () => {});
    const component = (await findComponent(defaultCacheDir(), KERNEL_COMPONENT, plan.linux!.key))!;
    const config = readFileSync(join(component.dir, component.record.files.config!), 'utf8').split('\n');
    for (const line of KERNEL_CONFIG) expect(config, line).toContain(line);
    console.log(`linux component: built in ${JSON.stringify(component.record.seconds)} (seconds per phase)`);
  });

  it("skips virtio-pci-grants on Debian's kernel, saying what it lacks", { timeout: 5 * 60_000 }, async () => {
    const run = startCli(['run', 'virtio-pci-grants']);
    const { code } = await run.done;
    expect(code, run.stderr()).toBe(0);
    expect(run.stderr()).toMatch(/virtio-pci-grants: skipped \(the debian rig lacks virtio-grants\)/);
  });
});
