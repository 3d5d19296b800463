import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { OPTIONS, resolvePlan, type RawOptions } from '../../../src/config/index.js';
import { ConfigError } from '../../../src/errors.js';

const raw = (values: RawOptions['values']): RawOptions => ({ values, label: (n) => `--${n}` });
const env = { HOME: '/home/dev' };

function workspace(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'xpv-plan-'));
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(join(dir, name, '..'), { recursive: true });
    writeFileSync(join(dir, name), text);
  }
  return dir;
}

const scenario = (name: string, domains = '') => `name: ${name}\n${domains}steps:\n  - wait: { console: dom0, for: shell }\n`;

describe('run plan', () => {
  it('takes every default from the option table', () => {
    const plan = resolvePlan(raw({}), { cwd: '/work', env });
    expect(plan.scenarios.map((s) => s.name)).toEqual([OPTIONS.scenarios.default]);
    expect(plan.rig.provider).toBe('debian');
    expect(plan.boot).toBe('uboot');
    expect(plan.sshPort).toBe(2222);
    expect(plan.keepAliveOnFailureMs).toBe(0);
    expect(plan.cache).toEqual({ enabled: true, dir: '/home/dev/.cache/xen-pvh-virtio', maxBytes: 10 * 1024 ** 3 });
    expect(plan.junitPath).toBe('/work/xen-pvh-virtio/junit.xml');
    expect(plan.domains).toEqual([{ name: 'domU1', domid: 1, memoryMiB: 1024, cpus: 1, vpl011: true, virtioPci: 'foreign' }]);
  });

  it('rejects bad option values naming the option as the front end spells it', () => {
    const bad = (values: RawOptions['values']) => () => resolvePlan(raw(values), { cwd: '/work', env });
    expect(bad({ rig: 'nix' })).toThrow(ConfigError);
    expect(bad({ rig: 'nix' })).toThrow('--rig: expected one of debian, source, yocto, prebuilt, got "nix"');
    expect(bad({ 'ssh-port': '70000' })).toThrow('--ssh-port: expected a whole number from 0 to 65535, got "70000"');
    expect(bad({ cache: 'maybe' })).toThrow('--cache: expected true or false, got "maybe"');
    expect(bad({ 'cache-max-size': 'lots' })).toThrow('--cache-max-size: expected a size like 10G or 512M (or 0 for no limit), got "lots"');
    expect(bad({ boot: 'pxe' })).toThrow('--boot: expected one of uboot, direct, got "pxe"');
    expect(bad({ 'keep-alive-on-failure': '10 minutes' })).toThrow('--keep-alive-on-failure: expected a duration like 10m, 90s or 1h (or 0 for off), got "10 minutes"');
    expect(resolvePlan(raw({ 'keep-alive-on-failure': '10m' }), { cwd: '/work', env }).keepAliveOnFailureMs).toBe(600_000);
    expect(bad({ rig: 'prebuilt' })).toThrow('--rig-path: required when rig is prebuilt');
    expect(bad({ scenarios: 'virtio-pci-rescan-pong' })).toThrow(
      '--scenarios: unknown scenario virtio-pci-rescan-pong; built-in scenarios: backend-restart, boot-smoke, boot-smoke-three-domus, two-domus, virtio-blk, virtio-pci-grants, virtio-pci-rescan-ping',
    );
    expect(bad({ scenarios: 'missing/x.yaml' })).toThrow('--scenarios: scenario file not found: missing/x.yaml');
  });

  it('resolves built-in names, files and globs, merging the domains for one boot', () => {
    const cwd = workspace({
      'ci/a.yaml': scenario('a', 'domains:\n  domU1: { memory: 1G }\n'),
      'ci/nested/b.yaml': scenario('b', 'domains:\n  domU1: { cpus: 1 }\n  domU2: {}\n'),
      'ci/notes.txt': 'not a scenario',
    });
    const plan = resolvePlan(raw({ scenarios: 'boot-smoke, ci/**/*.yaml' }), { cwd, env });
    expect(plan.scenarios.map((s) => s.name)).toEqual(['boot-smoke', 'a', 'b']);
    expect(plan.domains).toEqual([
      { name: 'domU1', domid: 1, memoryMiB: 1024, cpus: 1, vpl011: true },
      { name: 'domU2', domid: 2, memoryMiB: 512, cpus: 1, vpl011: true },
    ]);
  });

  it('refuses scenarios that disagree about a domain, or leave a gap in domain numbers', () => {
    const cwd = workspace({
      'a.yaml': scenario('a', 'domains:\n  domU1: { memory: 1G }\n'),
      'b.yaml': scenario('b', 'domains:\n  domU1: { memory: 2G }\n'),
      'c.yaml': scenario('c', 'domains:\n  domU2: {}\n'),
      'd.yaml': scenario('a'),
    });
    expect(() => resolvePlan(raw({ scenarios: 'a.yaml b.yaml' }), { cwd, env })).toThrow(
      "scenarios a.yaml and b.yaml disagree on domU1's memoryMiB (1024 vs 2048); one boot serves all selected scenarios, so run them separately",
    );
    expect(() => resolvePlan(raw({ scenarios: 'c.yaml' }), { cwd, env })).toThrow(/numbered from domU1 without gaps.*declare domU2/);
    expect(() => resolvePlan(raw({ scenarios: 'a.yaml,d.yaml' }), { cwd, env })).toThrow('--scenarios: two scenarios are named a (a.yaml and d.yaml)');
    expect(() => resolvePlan(raw({ scenarios: 'nothing/*.yaml' }), { cwd, env })).toThrow(/--scenarios: nothing\/\*\.yaml matches no files/);
  });

  it('honours the cache directory environment variable', () => {
    expect(resolvePlan(raw({}), { cwd: '/w', env: { XEN_PVH_VIRTIO_CACHE: '/cache' } }).cache.dir).toBe('/cache');
  });

  it('resolves patch files in order and names a missing one', () => {
    const cwd = workspace({ 'p/0002-b.patch': 'b', 'p/0001-a.patch': 'a', 'z.patch': 'z' });
    const plan = resolvePlan(raw({ 'xen-patches': 'z.patch p/*.patch' }), { cwd, env });
    expect(plan.rig.xenPatches).toEqual([join(cwd, 'z.patch'), join(cwd, 'p/0001-a.patch'), join(cwd, 'p/0002-b.patch')]);
    expect(plan.rig.qemuPatches).toEqual([]);
    expect(() => resolvePlan(raw({ 'qemu-patches': 'nope.patch' }), { cwd, env })).toThrow('--qemu-patches: patch file not found: nope.patch');
  });
});
