// The seed flow and its companions for real on the debian rig (Xen 4.17 rebuilt with IOREQ
// and trap-unmapped-accesses, QEMU 10.0 in dom0), all built-in scenarios in one run: the
// ones that attach backends each get a boot of their own.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { validateJunit } from '../../support/junit.js';
import { isolatedCache, startCli } from '../../support/cli.js';

// Restored systems must pass exactly what booted ones pass: the same run, both ways.
describe.each([
  { systems: 'restored', args: ['--cache-dir', isolatedCache()], snapshot: true },
  { systems: 'booted', args: ['--snapshot', 'false'], snapshot: false },
])('virtio-pci scenarios on the debian rig, later systems $systems', ({ systems, args, snapshot }) => {
  it('passes the seed flow, virtio-blk and backend-restart, each on a fresh system', { timeout: 20 * 60_000 }, async () => {
    const run = startCli(['run', 'boot-smoke', 'virtio-pci-rescan-ping', 'virtio-blk', 'backend-restart', '--boot', 'uboot', ...args], { snapshot });
    const { code } = await run.done;
    expect(code, run.stderr()).toBe(0);
    const xml = readFileSync(run.junitPath, 'utf8');
    validateJunit(xml);
    for (const name of ['boot-smoke', 'virtio-pci-rescan-ping', 'virtio-blk', 'backend-restart']) {
      expect(xml).toMatch(new RegExp(`<testsuite name="${name}" [^\\n]* failures="0" errors="0" skipped="0"`));
    }
    // boot-smoke shares the first boot; each backend scenario needs its own system.
    for (const n of [2, 3, 4]) expect(existsSync(join(run.logsDir, `boot-${n}`, 'console-domU1.log')), `boot-${n}`).toBe(true);
    const on = [...xml.matchAll(/<property name="system" value="(\w+)"\/>/g)].map((m) => m[1]);
    expect(on).toEqual(['booted', systems, systems, systems]);
    expect(existsSync(join(run.logsDir, 'boot-5'))).toBe(false);

    // The evidence a reader needs: the empty bus before, QEMU's IOREQ server, the device after.
    expect(xml).toContain('xen_ioreq_server_create id: ');
    expect(xml).toMatch(/xen_map_mmio_range id: \d+ start: 0xf100000000 end: 0xf10fffffff/);
    expect(xml).toMatch(/virtio-pci 0001:00:01\.0: enabling device/);
    expect(xml).toContain('0001:00:01.0 Ethernet controller: Red Hat, Inc. Virtio network device');
    expect(xml).toMatch(/5 packets transmitted, 5 packets received, 0% packet loss/);
    const backendLogs = readdirSync(join(run.logsDir, 'boot-2')).filter((f) => f.includes('backend-domU1'));
    expect(backendLogs).toEqual(['virtio-pci-rescan-ping-backend-domU1-1.log']);
    expect(readdirSync(join(run.logsDir, 'boot-4')).filter((f) => f.includes('backend-domU1')).sort()).toEqual([
      'backend-restart-backend-domU1-1.log',
      'backend-restart-backend-domU1-2.log',
    ]);
  });
});
