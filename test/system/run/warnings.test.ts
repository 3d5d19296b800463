// Kernel and Xen warnings as results: a real dom0 kernel prints a WARNING (through printk, as
// /dev/kmsg takes it), and the report shows it; fail-on-warnings fails the scenario naming
// the line unless the scenario declares it expected.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { startCli } from '../../support/cli.js';
import { validateJunit } from '../../support/junit.js';

const dir = mkdtempSync(join(tmpdir(), 'xpv-warnings-'));
const scenario = (name: string, tag: string, extra = '') => {
  const file = join(dir, `${name}.yaml`);
  writeFileSync(
    file,
    `name: ${name}
${extra}domains:
  domU1: { vpl011: true }
steps:
  - ssh: { run: "echo '<4>WARNING: CPU: 0 PID: 1 at drivers/xen-pvh-virtio/inject.c:1 ${tag}+0x0/0x4' > /dev/kmsg" }
  - wait: { console: dom0, for: "${tag}", timeout: 1m }
`,
  );
  return file;
};

describe('kernel and Xen warnings', () => {
  it('are reported in the JUnit, the summary and the CLI, and fail a scenario only with fail-on-warnings unless expected', { timeout: 10 * 60_000 }, async () => {
    const injects = scenario('injects-warning', 'injected_warning');
    const expects = scenario('expects-warning', 'injected_expected', 'expected-warnings: ["injected_expected\\\\+"]\n');

    const quiet = startCli(['run', injects], { snapshot: true });
    expect((await quiet.done).code, quiet.stderr()).toBe(0);
    const xml = readFileSync(quiet.junitPath, 'utf8');
    validateJunit(xml);
    expect(xml).toContain('<property name="warnings" value="1"/>');
    expect(xml).toMatch(/<property name="warning\.1" value="dom0: \[\s*[\d.]+\] WARNING: CPU: 0 PID: 1 at drivers\/xen-pvh-virtio\/inject\.c:1 injected_warning\+0x0\/0x4"\/>/);
    expect(xml).toContain("kernel and Xen warnings on this scenario's system (1):");
    expect(readFileSync(join(quiet.logsDir, 'summary.md'), 'utf8')).toMatch(/⚠️ \*\*1 kernel or Xen warning\*\*[\s\S]*WARNING: CPU: 0 PID: 1 at drivers\/xen-pvh-virtio\/inject\.c:1 injected_warning/);
    expect(quiet.stderr()).toMatch(/^kernel\/Xen warning: dom0: \[\s*[\d.]+\] WARNING: .*injected_warning/m);

    const strict = startCli(['run', injects, expects, '--fail-on-warnings', 'true'], { snapshot: true });
    expect((await strict.done).code, strict.stderr()).toBe(1);
    const xml2 = readFileSync(strict.junitPath, 'utf8');
    validateJunit(xml2);
    expect(xml2).toMatch(/<testsuite name="injects-warning" [^\n]* tests="3" failures="1" errors="0"/);
    expect(xml2).toMatch(
      /<testcase classname="xen-pvh-virtio\.injects-warning" name="no unexpected kernel or Xen warnings" time="0">\s*<failure message="1 unexpected warning \(fail-on-warnings; declare known ones in expected-warnings\):&#xA;dom0: \[\s*[\d.]+\] WARNING: [^"]*injected_warning\+0x0\/0x4" type="warnings"/,
    );
    // The expected one is reported, marked, and passes.
    expect(xml2).toMatch(/<testsuite name="expects-warning" [^\n]* tests="3" failures="0" errors="0"/);
    expect(xml2).toMatch(/<property name="warning\.1" value="dom0: [^"]*injected_expected\+0x0\/0x4 \[expected\]"\/>/);
    const expectsSuite = xml2.split('<testsuite ').find((x) => x.startsWith('name="expects-warning"'))!;
    expect(expectsSuite).toContain('<property name="warnings" value="1"/>');
    expect(expectsSuite).not.toContain('injected_warning+');
  });
});
