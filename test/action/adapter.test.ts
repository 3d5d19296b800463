// The action end to end: INPUT_* in, GITHUB_OUTPUT / GITHUB_STEP_SUMMARY / JUnit out,
// running the committed dist/ exactly as a runner would.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { identify } from '../../src/host/process-identity.js';

const root = resolve(__dirname, '../..');

function runAction(entry: 'main' | 'post', inputs: Record<string, string>, state: Record<string, string> = {}) {
  const work = mkdtempSync(join(tmpdir(), 'xpv-action-'));
  const files = { GITHUB_OUTPUT: 'output', GITHUB_STEP_SUMMARY: 'summary', GITHUB_STATE: 'state' } as const;
  for (const f of Object.values(files)) writeFileSync(join(work, f), '');
  const env: Record<string, string> = { PATH: process.env.PATH!, HOME: process.env.HOME!, GITHUB_WORKSPACE: work, RUNNER_TEMP: work };
  if (process.env.XEN_PVH_VIRTIO_CACHE) env.XEN_PVH_VIRTIO_CACHE = process.env.XEN_PVH_VIRTIO_CACHE;
  for (const [k, f] of Object.entries(files)) env[k] = join(work, f);
  // Tests share one cache: no run of theirs prunes what another test is about to use.
  for (const [k, v] of Object.entries({ 'cache-max-size': '0', ...inputs })) env[`INPUT_${k.toUpperCase()}`] = v;
  for (const [k, v] of Object.entries(state)) env[`STATE_${k}`] = v;
  const proc = spawnSync(process.execPath, [join(root, 'dist', `${entry}.js`)], { env, encoding: 'utf8', timeout: 900_000 });
  const read = (f: string) => readFileSync(join(work, f), 'utf8');
  return { proc, work, outputs: parseCommandFile(read(files.GITHUB_OUTPUT)), summary: read(files.GITHUB_STEP_SUMMARY) };
}

/** GITHUB_OUTPUT holds `name<<DELIMITER\nvalue\nDELIMITER` records. */
function parseCommandFile(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  const re = /^([^\n<]+)<<(\S+)\n([\s\S]*?)\n\2$/gm;
  for (let m = re.exec(text); m; m = re.exec(text)) out[m[1]!] = m[3]!;
  return out;
}

describe('the action', () => {
  it('fails a bad input with a message naming the input, writing no outputs', () => {
    const { proc, outputs } = runAction('main', { rig: 'nix' });
    expect(proc.status).toBe(1);
    expect(proc.stdout).toContain('::error::configuration error: input `rig`: expected one of debian, source, yocto, prebuilt, got "nix"');
    expect(outputs).toEqual({});
  });

  it('runs a scenario on the debian rig and writes outputs, the job summary and JUnit', { timeout: 900_000 }, () => {
    const { proc, outputs, summary, work } = runAction('main', { scenarios: 'boot-smoke', 'logs-dir': 'out/logs', 'junit-path': 'out/junit.xml' });
    expect(outputs['junit-path']).toBe(join(work, 'out/junit.xml'));
    expect(outputs['logs-dir']).toBe(join(work, 'out/logs'));
    expect(outputs['rig-key']).toMatch(/^[0-9a-f]{64}$/);
    const total = ['passed', 'failed', 'errored', 'skipped'].reduce((n, k) => n + Number(outputs[k]), 0);
    expect(total).toBe(1);
    expect(existsSync(join(work, 'out/junit.xml'))).toBe(true);
    expect(readFileSync(join(work, 'out/junit.xml'), 'utf8')).toContain('<testsuite name="boot-smoke"');
    expect(summary).toContain('## xen-pvh-virtio');
    // No cache service in this test's environment: a warning, never a failure.
    expect(proc.stdout).toContain('::warning::no Actions cache service is reachable from this job');
    expect(summary).toContain('| boot-smoke |');
    expect(proc.status).toBe(outputs.passed === '1' ? 0 : 1);
  });

  it('post step succeeds when nothing was started', () => {
    const { proc } = runAction('post', {});
    expect(proc.stderr).toBe('');
    expect(proc.status).toBe(0);
  });

  it('post step stops a process the main step left behind', () => {
    const child = spawnSync('sh', ['-c', 'sleep 300 >/dev/null 2>&1 & echo $!'], { encoding: 'utf8' });
    const pid = Number(child.stdout.trim());
    const { proc } = runAction('post', {}, { 'xen-pvh-virtio-pids': JSON.stringify([identify(pid)]) });
    expect(proc.status).toBe(0);
    expect(proc.stdout).toContain(`stopping process ${pid} (sleep 300) left by the main step`);
    expect(identify(pid)).toBeUndefined();
  });

  it('post step leaves alone a process that now holds a recorded id but is not the one started', () => {
    const child = spawnSync('sh', ['-c', 'sleep 300 >/dev/null 2>&1 & echo $!'], { encoding: 'utf8' });
    const pid = Number(child.stdout.trim());
    try {
      const now = identify(pid)!;
      // What the main step would have recorded for an earlier process with this id: another start time.
      const earlier = { ...now, started: String(Number(now.started) - 1000), command: 'qemu-system-aarch64 -machine virt' };
      const { proc } = runAction('post', {}, { 'xen-pvh-virtio-pids': JSON.stringify([earlier]) });
      expect(proc.status).toBe(0);
      expect(proc.stdout).toContain(`process ${pid} is no longer the one the main step started (qemu-system-aarch64 -machine virt): left alone`);
      expect(proc.stdout).not.toContain('stopping process');
      expect(identify(pid)).toEqual(now);
    } finally {
      process.kill(pid, 'SIGKILL');
    }
  });
});
