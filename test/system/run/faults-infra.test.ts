// Infrastructure faults on the real stack: a boot that never shows Xen's banner, and a dom0
// whose sshd is gone. Each ends as <error> (exit 3) within its own deadline, not at the
// scenarios' five-minute waits, and is retried exactly once on a fresh boot.
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { validateJunit } from '../../support/junit.js';
import { alive, startCli } from '../../support/cli.js';

const scratch = () => mkdtempSync(join(tmpdir(), 'xpv-infra-'));

/**
 * The pid in a qemu.pid file, once it is there and complete. Never 0 or less: process.kill(0)
 * would signal this whole process group.
 */
async function pidWhenWritten(path: string, deadlineMs: number): Promise<number> {
  const until = Date.now() + deadlineMs;
  for (;;) {
    const text = existsSync(path) ? readFileSync(path, 'utf8') : '';
    if (/^[1-9]\d*\n$/.test(text)) return Number(text);
    if (Date.now() > until) throw new Error(`${path} held no pid within ${deadlineMs} ms (${JSON.stringify(text)})`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('infrastructure faults on the real stack', () => {
  it('a busy SSH port is an infrastructure error before QEMU starts, retried once', { timeout: 5 * 60_000 }, async () => {
    const squatter = createServer();
    await new Promise<void>((resolve) => squatter.listen(0, '127.0.0.1', resolve));
    onTestFinished(() => new Promise<void>((resolve) => squatter.close(() => resolve())));
    const port = (squatter.address() as AddressInfo).port;
    const t0 = Date.now();
    const run = startCli(['run', 'boot-smoke', '--ssh-port', String(port)]);
    const { code, at } = await run.done;
    expect(code, run.stderr()).toBe(3);
    // The rig check is most of it; no boot is attempted.
    expect(at - t0, run.stderr()).toBeLessThan(90_000);
    expect(existsSync(join(run.logsDir, 'qemu.pid'))).toBe(false);
    expect(run.stderr()).not.toContain('booting:');
    const xml = readFileSync(run.junitPath, 'utf8');
    validateJunit(xml);
    const busy = `SSH port ${port} on 127.0.0.1 is already in use; choose another port or 0 for a free one`;
    expect(xml).toContain(`<error message="boot: ${busy} (scenarios/boot-smoke.yaml:11:11)" type="infrastructure"><![CDATA[scenarios/boot-smoke.yaml:11:11: boot: ${busy}]]></error>`);
    expect(xml).toContain(`<property name="retry.boot-smoke" value="2 attempts; attempt 1: error in &quot;wait for shell on dom0&quot;: boot: ${busy}"/>`);
  });

  it('a machine that never prints the Xen banner errors at the boot deadline, on both attempts, and later scenarios do not boot', { timeout: 10 * 60_000 }, async () => {
    // A frozen QEMU (SIGSTOP just after it starts, before Xen can print anything) stands in for
    // a hung firmware or a Xen that never starts: the serial port stays silent.
    const run = startCli(['run', 'boot-smoke', 'virtio-pci-rescan-ping'], { env: { XEN_PVH_VIRTIO_BANNER_DEADLINE: '20s' } });
    const stopped: number[] = [];
    for (const pidFile of [join(run.logsDir, 'qemu.pid'), join(run.logsDir, 'boot-2', 'qemu.pid')]) {
      const pid = await pidWhenWritten(pidFile, 5 * 60_000);
      process.kill(pid, 'SIGSTOP');
      stopped.push(pid);
    }
    const frozenAt = Date.now();
    const { code, at } = await run.done;
    expect(code, run.stderr()).toBe(3);
    // 20 s of banner deadline, then teardown of a stopped QEMU (QMP and SIGTERM go unanswered).
    expect(at - frozenAt, run.stderr()).toBeLessThan(45_000);
    expect(run.stderr()).not.toContain('Xen version');
    expect(run.stderr().match(/retrying once on a fresh boot/g)).toHaveLength(1);
    for (const pid of stopped) expect(alive(pid)).toBe(false);
    expect(existsSync(join(run.logsDir, 'boot-3'))).toBe(false);

    const xml = readFileSync(run.junitPath, 'utf8');
    validateJunit(xml);
    for (const name of ['boot-smoke', 'virtio-pci-rescan-ping']) {
      expect(xml).toMatch(new RegExp(`<testsuite name="${name}" [^\\n]* failures="0" errors="1"`));
    }
    expect(xml).toMatch(/<error message="boot: no Xen banner within 20 s of QEMU start \(the firmware or Xen never started\); last lines of the serial port:/);
    expect(xml).toContain('<property name="retry.boot-smoke" value="2 attempts; attempt 1: error in &quot;wait for shell on dom0&quot;: boot: no Xen banner within 20 s');
    expect(xml).not.toContain('retry.virtio-pci-rescan-ping');
  });

  it('a dom0 whose sshd was killed errors at the SSH step deadline as unreachable, retried once', { timeout: 10 * 60_000 }, async () => {
    const file = join(scratch(), 'no-sshd.yaml');
    writeFileSync(
      file,
      `name: no-sshd
steps:
  - wait: { console: dom0, for: shell, timeout: 5m }
  - console: { domain: dom0, run: "killall dropbear; sleep 1; pidof dropbear || echo sshd-gone", expect: "sshd-gone" }
  - ssh: { run: "uname -a", timeout: 20s }
`,
    );
    const run = startCli(['run', file]);
    const started: number[] = [];
    for (let attempt = 1; attempt <= 2; attempt++) {
      await run.waitFor(attempt === 1 ? /\[2\/3\] ok/ : /\[2\/3\] ok[\s\S]*\[2\/3\] ok/, 5 * 60_000);
      started.push(Date.now());
      await run.waitFor(attempt === 1 ? /\[3\/3\] ERR/ : /\[3\/3\] ERR[\s\S]*\[3\/3\] ERR/, 60_000);
      // The step's own deadline (20 s) plus one connection attempt's slack.
      expect(Date.now() - started[attempt - 1]!, run.stderr()).toBeLessThan(35_000);
      expect(Date.now() - started[attempt - 1]!).toBeGreaterThan(19_000);
    }
    const { code } = await run.done;
    expect(code, run.stderr()).toBe(3);
    const xml = readFileSync(run.junitPath, 'utf8');
    validateJunit(xml);
    expect(xml).toMatch(/<testsuite name="no-sshd" [^\n]* tests="3" failures="0" errors="1"/);
    expect(xml).toMatch(/<error message="SSH to root@127\.0\.0\.1:\d+ did not log in within \d+ ms \(\d+ attempts\); last failure: [^"]*" type="infrastructure"/);
    expect(xml).toMatch(/<property name="retry.no-sshd" value="2 attempts; attempt 1: error in &quot;[^"]*uname -a&quot;: SSH to root@127\.0\.0\.1:\d+ did not log in/);
    expect(run.stderr().match(/retrying once on a fresh boot/g)).toHaveLength(1);
  });
});
