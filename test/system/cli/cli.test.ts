// The CLI as users run it: the committed dist/cli.js in a child process.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { OPTION_NAMES, scenarioJsonSchema } from '../../../src/config/index.js';

const root = resolve(__dirname, '../../..');
const cli = (args: string[], cwd = root) => spawnSync(process.execPath, [join(root, 'dist/cli.js'), ...args], { cwd, encoding: 'utf8' });

describe('xen-pvh-virtio CLI', () => {
  it('prints the resolved plan for the built-in scenarios', () => {
    const r = cli(['plan', 'boot-smoke', 'virtio-pci-rescan-ping', '--boot', 'direct', '--ssh-port', '0']);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('boot-smoke  (scenarios/boot-smoke.yaml)');
    expect(r.stdout).toContain('virtio-pci-rescan-ping  (scenarios/virtio-pci-rescan-ping.yaml)');
    expect(r.stdout).toContain('  - ssh     dom0\'s toolstack lists dom0 and the dom0less domU  [expect /dom0less-1/lm, timeout 2m0s]');
    expect(r.stdout).toContain('domU1: domid 1, memory 1024M, cpus 1, vpl011, virtio-pci foreign');
    expect(r.stdout).toContain('boot: direct');
    expect(r.stdout).toContain('ssh: 127.0.0.1:<free port> → dom0:22');
    // The seed starts a backend, so it needs a system of its own: a restore of the first.
    expect(r.stdout).toContain(
      'systems: 2 — 1: boot-smoke (booted (or restored from a cached booted system)); 2: virtio-pci-rescan-ping (restored from the first)',
    );
    expect(cli(['plan', 'boot-smoke', 'virtio-pci-rescan-ping', '--snapshot', 'false']).stdout).toContain(
      'systems: 2 — 1: boot-smoke (booted); 2: virtio-pci-rescan-ping (booted) [snapshot off]',
    );
    expect(r.stdout).toContain('# Rig recipe');
  });

  it('plan changes nothing on the machine: with an empty cache it says what it cannot know and writes nothing', () => {
    const dir = mkdtempSync(join(tmpdir(), 'xpv-plan-dry-'));
    const cache = join(dir, 'cache');
    const r = cli(['plan', 'boot-smoke', '--cache-dir', cache]);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toContain("Not known without changing this machine: Debian's bookworm/arm64 package lists are not in this cache yet");
    expect(r.stdout).toContain('plan downloads and installs nothing');
    // Not even the cache directory was made.
    expect(existsSync(cache)).toBe(false);
  });

  it('exits 2 with file:line:column for a bad scenario file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'xpv-cli-'));
    writeFileSync(join(dir, 'some-bad.yaml'), 'name: bad\nsteps:\n  - console: { domain: dom0, run: ls, timeout: soon }\n');
    const r = cli(['plan', 'some-bad.yaml'], dir);
    expect(r.status).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe('error: some-bad.yaml:3:48: timeout: expected a duration like 300s or 5m, got "soon"\n');
  });

  it('exits 2 for an unknown flag, command or option value', () => {
    expect(cli(['plan', '--rgi', 'debian']).status).toBe(2);
    const bad = cli(['frobnicate']);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toBe('error: unknown command: frobnicate; see --help\n');
    const port = cli(['plan', '--ssh-port', 'twenty']);
    expect(port.status).toBe(2);
    expect(port.stderr).toBe('error: --ssh-port: expected a whole number from 0 to 65535, got "twenty"\n');
  });

  it('documents every action input as a flag in --help', () => {
    const r = cli(['--help']);
    expect(r.stdout).toContain('xen-pvh-virtio --version ');
    expect(r.status).toBe(0);
    for (const name of OPTION_NAMES) expect(r.stdout).toContain(`--${name} `);
    for (const cmd of ['run [SCENARIO…]', 'plan [SCENARIO…]', 'rig build', 'scenarios list']) expect(r.stdout).toContain(cmd);
  });

  it('lists the built-in scenarios', () => {
    const r = cli(['scenarios', 'list']);
    expect(r.status).toBe(0);
    expect(r.stdout.split('\n').filter(Boolean).map((l) => l.split('\t')[0])).toEqual(['backend-restart', 'boot-smoke', 'boot-smoke-three-domus', 'two-domus', 'virtio-blk', 'virtio-pci-grants', 'virtio-pci-rescan-ping']);
  });

  it('publishes the scenario schema that the code validates with (scenarios/schema.json is fresh)', () => {
    const committed = JSON.parse(readFileSync(join(root, 'scenarios/schema.json'), 'utf8'));
    expect(committed).toEqual(JSON.parse(JSON.stringify(scenarioJsonSchema())));
    expect(JSON.parse(cli(['scenarios', 'schema']).stdout)).toEqual(committed);
  });
});
