// The action end to end: INPUT_* in, GITHUB_OUTPUT / GITHUB_STEP_SUMMARY / JUnit out,
// running the committed dist/ exactly as a runner would.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { identify } from '../../../src/host/process-identity.js';

const root = resolve(__dirname, '../../..');

function runAction(entry: 'main' | 'post', inputs: Record<string, string>, state: Record<string, string> = {}, prepare?: (work: string) => void) {
  const work = mkdtempSync(join(tmpdir(), 'xpv-action-'));
  prepare?.(work);
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
  it('fails a bad input with a one-line annotation naming the input, and still sets the outputs and the summary', () => {
    const { proc, outputs, summary, work } = runAction('main', { rig: 'nix' });
    expect(proc.status).toBe(1);
    expect(proc.stdout).toContain('::error::configuration error: input `rig`: expected one of debian, source, yocto, prebuilt, got "nix"\n');
    expect(proc.stdout).not.toMatch(/^\s+at /m);
    // The workflow's next steps (upload-artifact, a JUnit reporter) find what they were told.
    expect(outputs['logs-dir']).toBe(join(work, 'xen-pvh-virtio/logs'));
    expect(outputs['junit-path']).toBe(join(work, 'xen-pvh-virtio/junit.xml'));
    expect(summary).toContain('> **Configuration error:** input \\`rig\\`: expected one of debian, source, yocto, prebuilt, got "nix"');
    expect(existsSync(join(work, 'xen-pvh-virtio/logs/summary.md'))).toBe(true);
    expect(readFileSync(join(work, 'xen-pvh-virtio/junit.xml'), 'utf8')).toContain('<testsuites');
  });

  it('fails with junit-path a directory the same way, before anything runs', () => {
    const { proc, outputs, summary, work } = runAction('main', { 'junit-path': 'reports', 'logs-dir': 'out/logs', scenarios: 'boot-smoke' }, {}, (w) => mkdirSync(join(w, 'reports')));
    expect(proc.status).toBe(1);
    expect(proc.stdout).toMatch(/^::error::configuration error: input `junit-path`: .*reports is a directory; expected the path of the report file to write, e\.g\. .*reports\/junit\.xml\n/m);
    expect(proc.stdout).not.toMatch(/^\s+at /m);
    expect(outputs['junit-path']).toBe(join(work, 'reports'));
    expect(outputs['logs-dir']).toBe(join(work, 'out/logs'));
    expect(summary).toContain('> **Configuration error:** input \\`junit-path\\`: ');
  });

  it('fails with a damaged prebuilt manifest the same way, naming the bundle', () => {
    const { proc, outputs, summary, work } = runAction('main', { rig: 'prebuilt', 'rig-path': 'bundle', scenarios: 'boot-smoke' }, {}, (w) => {
      mkdirSync(join(w, 'bundle'));
      writeFileSync(join(w, 'bundle', 'manifest.json'), '{ "schemaVersion": 1, "files": [ ');
    });
    expect(proc.status).toBe(1);
    expect(proc.stdout).toMatch(/^::error::configuration error: input `rig-path`: .*manifest\.json.*\n/m);
    expect(proc.stdout).not.toMatch(/^\s+at /m);
    expect(outputs['logs-dir']).toBe(join(work, 'xen-pvh-virtio/logs'));
    expect(outputs.errored).toBe('1');
    expect(summary).toContain('| boot-smoke | 💥 error |');
    const xml = readFileSync(outputs['junit-path']!, 'utf8');
    expect(xml).toMatch(/<testsuite name="boot-smoke" [^\n]* errors="1"/);
  });

  it('runs a scenario on the debian rig and writes outputs, the job summary and JUnit', { timeout: 900_000 }, () => {
    const { proc, outputs, summary, work } = runAction('main', { scenarios: 'boot-smoke', 'logs-dir': 'out/logs', 'junit-path': 'out/junit.xml' });
    expect(outputs['junit-path']).toBe(join(work, 'out/junit.xml'));
    expect(outputs['logs-dir']).toBe(join(work, 'out/logs'));
    expect(outputs['rig-key']).toMatch(/^[0-9a-f]{64}$/);
    // The global setup built the rig into this cache: the run finds it there.
    expect(outputs['cache-hit']).toBe('true');
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

  it("annotates a failed step on its scenario file's line", { timeout: 900_000 }, () => {
    const scenario = 'name: annotated\ndomains:\n  domU1: { vpl011: true }\nsteps:\n  - wait: { console: domU1, for: shell, timeout: 5m }\n  - console: { domain: domU1, run: echo no, expect: "^yes$", timeout: 20s }\n';
    const { proc, outputs } = runAction('main', { scenarios: 'checks/annotated.yaml' }, {}, (w) => {
      mkdirSync(join(w, 'checks'));
      writeFileSync(join(w, 'checks', 'annotated.yaml'), scenario);
    });
    expect(proc.status).toBe(1);
    expect(outputs.failed).toBe('1');
    expect(proc.stdout).toMatch(/^::error title=scenario failed,file=checks\/annotated\.yaml,line=6,col=14::annotated: domU1: echo no: .*\n/m);
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
