// Several systems at once on one runner (`jobs`): each with its own QEMU, port, sockets and
// logs, scenarios handed out as systems free up, reports in scenario order naming the system
// each scenario ran on; and a SIGTERM ends every system.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { validateJunit } from '../../support/junit.js';
import { alive, isolatedCache, startCli } from '../../support/cli.js';

const property = (xml: string, name: string) => new RegExp(`<property name="${name.replace(/\./g, '\\.')}" value="([^"]*)"/>`).exec(xml)?.[1];
/** A suite's own properties: the text from its <testsuite> to the next. */
const suite = (xml: string, name: string) => {
  const start = xml.indexOf(`<testsuite name="${name}"`);
  expect(start, `suite ${name}`).toBeGreaterThanOrEqual(0);
  const end = xml.indexOf('<testsuite ', start + 1);
  return xml.slice(start, end < 0 ? undefined : end);
};
/** A span property ("12.3s..45.6s") as [from, to] seconds. */
const span = (xml: string, name: string): [number, number] => {
  const v = property(xml, `span.scenarios.${name}`);
  expect(v, `span of ${name}`).toBeDefined();
  const [a, b] = v!.split('..').map((x) => parseFloat(x));
  return [a!, b!];
};
const qemuPids = (logsDir: string): number[] =>
  ['', ...readdirSync(logsDir).filter((d) => /^boot-\d+$/.test(d))]
    .map((d) => join(logsDir, d, 'qemu.pid'))
    .filter((f) => existsSync(f))
    .map((f) => Number(readFileSync(f, 'utf8').trim()))
    .filter((pid) => pid > 0);

describe('jobs: several systems at once', () => {
  it('runs backend scenarios on two systems at once, restored from the one saved boot, and reports each in order with its system', { timeout: 10 * 60_000 }, async () => {
    const run = startCli(['run', 'boot-smoke', 'virtio-blk', 'backend-restart', '--jobs', '2', '--cache-dir', isolatedCache()], { snapshot: true });
    const { code } = await run.done;
    expect(code, run.stderr()).toBe(0);
    const xml = readFileSync(run.junitPath, 'utf8');
    validateJunit(xml);
    expect(property(xml, 'jobs')).toBe('2');
    // Scenario order, whatever order they finished in.
    const order = [...xml.matchAll(/<testsuite name="([^"]+)"/g)].map((m) => m[1]);
    expect(order).toEqual(['boot-smoke', 'virtio-blk', 'backend-restart']);
    // The first system was booted and saved; the other lane waited for that save and restored it.
    expect(property(suite(xml, 'boot-smoke'), 'system.number')).toBe('1');
    const numbers = ['virtio-blk', 'backend-restart'].map((s) => property(suite(xml, s), 'system.number'));
    expect(new Set(numbers).size).toBe(2);
    for (const s of ['virtio-blk', 'backend-restart']) expect(property(suite(xml, s), 'system')).toBe('restored');
    expect(run.stderr()).toMatch(/2 systems at once \(jobs 2\), 3 batches of scenarios/);
    // Only one boot: nobody booted beside the system being saved.
    expect(run.stderr().match(/== system \d+: uboot boot/g)).toHaveLength(1);
    // The two backend scenarios ran at the same time, on two machines.
    const [blkFrom, blkTo] = span(xml, 'virtio-blk');
    const [restartFrom, restartTo] = span(xml, 'backend-restart');
    expect(Math.min(blkTo, restartTo) - Math.max(blkFrom, restartFrom), `virtio-blk ${blkFrom}..${blkTo}, backend-restart ${restartFrom}..${restartTo}`).toBeGreaterThan(0);
    // Each system its own port, logs and QEMU; none left running.
    const ports = [...run.stderr().matchAll(/ssh on 127\.0\.0\.1:(\d+)/g)].map((m) => m[1]);
    expect(new Set(ports).size).toBe(ports.length);
    expect(ports.length).toBe(3);
    for (const n of numbers) expect(readFileSync(join(run.logsDir, `boot-${n}`, 'console-dom0.log'), 'utf8')).toMatch(/\S/);
    const pids = qemuPids(run.logsDir);
    expect(new Set(pids).size).toBe(3);
    for (const pid of pids) expect(alive(pid), `QEMU ${pid}`).toBe(false);
    const summary = readFileSync(join(run.logsDir, 'summary.md'), 'utf8');
    expect(summary).toMatch(/\| virtio-blk \| .* \(system [23], restored\) \|/);
  });

  it('ends both systems on SIGTERM and still writes the report', { timeout: 10 * 60_000 }, async () => {
    const run = startCli(['run', 'virtio-blk', 'backend-restart', '--jobs', '2']);
    // Both lanes boot at once (nothing is saved with --snapshot false): wait until both QEMUs run.
    const deadline = Date.now() + 5 * 60_000;
    let pids: number[] = [];
    while ((pids = existsSync(run.logsDir) ? qemuPids(run.logsDir) : []).length < 2) {
      expect(Date.now() < deadline, `two QEMUs never ran:\n${run.stderr()}`).toBe(true);
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(pids).toHaveLength(2);
    for (const pid of pids) expect(alive(pid)).toBe(true);
    run.child.kill('SIGTERM');
    const { code } = await run.done;
    expect(code, run.stderr()).toBe(3);
    for (const pid of pids) expect(alive(pid), `QEMU ${pid}`).toBe(false);
    const xml = readFileSync(run.junitPath, 'utf8');
    validateJunit(xml);
    expect([...xml.matchAll(/<testsuite name="([^"]+)"/g)].map((m) => m[1])).toEqual(['virtio-blk', 'backend-restart']);
    expect(xml).toMatch(/cancelled \(SIGTERM\)/);
  });
});
