// Console input on restored systems, under load: every round restores the saved booted
// system, switches Xen's input focus dom0 → domU1 → dom0 → domU1 (CTRL-a ×3 each way,
// through Xen's own focus) and types a command on each, while busy loops keep both host cores
// busy. Lost or late input, or a focus banner the console misreads, fails a round.
//
// .ci/run runs a few rounds; the slow lane `npm run test:soak` runs 50
// (XEN_PVH_VIRTIO_SOAK_ROUNDS), which #22 asks to pass 50 of 50.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { validateJunit } from '../../support/junit.js';
import { startCli } from '../../support/cli.js';

const ROUNDS = Number(process.env.XEN_PVH_VIRTIO_SOAK_ROUNDS ?? '4');
const dir = mkdtempSync(join(tmpdir(), 'xpv-soak-'));
const hogs: ChildProcess[] = [];

function stopHogs(): void {
  for (const h of hogs.splice(0)) h.kill('SIGKILL');
}
afterAll(() => {
  stopHogs();
  rmSync(dir, { recursive: true, force: true });
});
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, stopHogs);

/** One round: four focus switches with a command typed after each; the backend step spoils the system, so the next round restores. */
function round(n: number): string {
  const tag = (where: string, i: number) => `soak-${n}-${where}-${i}`;
  // The answer differs from the typed text (upper case), so only the command's output can match.
  const typed = (domain: string, i: number) =>
    `  - console: { domain: ${domain}, run: "echo ${tag(domain, i)} | tr a-z A-Z", expect: "^${tag(domain, i).toUpperCase()}$", timeout: 30s }\n`;
  return (
    `name: soak-${String(n).padStart(2, '0')}\n` +
    'domains:\n  domU1: { memory: 512M, cpus: 1, vpl011: true, virtio-pci: foreign }\n' +
    'steps:\n' +
    '  - wait: { console: dom0, for: shell, timeout: 5m }\n' +
    '  - wait: { console: domU1, for: shell, timeout: 5m }\n' +
    typed('domU1', 1) +
    typed('dom0', 1) +
    typed('domU1', 2) +
    typed('dom0', 2) +
    '  - backend: { domain: domU1, devices: [virtio-net], timeout: 2m }\n'
  );
}

describe(`console input on restored systems under a CPU hog (${ROUNDS} rounds)`, () => {
  it('types on every domain after every restore, every time', { timeout: (10 + ROUNDS) * 60_000 }, async () => {
    const files = Array.from({ length: ROUNDS }, (_, i) => {
      const file = join(dir, `soak-${i + 1}.yaml`);
      writeFileSync(file, round(i + 1));
      return file;
    });
    // Two busy loops per core, at the same priority as QEMU: the guests run late, as on a loaded runner.
    for (let i = 0; i < 2 * availableParallelism(); i++) {
      hogs.push(spawn(process.execPath, ['-e', 'for (;;) {}'], { stdio: 'ignore' }));
    }
    const run = startCli(['run', ...files, '--timeout-minutes', String(8 + ROUNDS)], { snapshot: true });
    const { code } = await run.done;
    stopHogs();
    const xml = readFileSync(run.junitPath, 'utf8');
    validateJunit(xml);
    const failed = [...xml.matchAll(/<testsuite name="(soak-\d+)" [^\n]*failures="([1-9]\d*)"/g)].map((m) => m[1]);
    expect(failed, run.stderr()).toEqual([]);
    expect(code, run.stderr()).toBe(0);
    // Every round after the first ran on a restored system, not a fresh boot.
    expect(run.stderr().match(/== system \d+: restored from the saved booted system/g)?.length ?? 0).toBeGreaterThanOrEqual(ROUNDS - 1);
    expect(xml.match(/<testsuite name="soak-\d+" [^\n]* failures="0" errors="0" skipped="0"/g)).toHaveLength(ROUNDS);
  });
});
