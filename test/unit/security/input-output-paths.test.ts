// junit-path and logs-dir are checked before a run starts, naming the flag or input, so a
// wrong one never costs a whole run and its report.
import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { prepareOutputPaths } from '../../../src/config/index.js';
import { configErrorOf } from '../../support/config-error.js';

const CLI = { junitPath: '--junit-path', logsDir: '--logs-dir' };
const ACTION = { junitPath: 'input `junit-path`', logsDir: 'input `logs-dir`' };

const errorOf = (junitPath: string, logsDir: string, labels = CLI): string => configErrorOf(() => prepareOutputPaths({ junitPath, logsDir, labels }));

describe('output paths', () => {
  const d = mkdtempSync(join(tmpdir(), 'xpv-out-'));
  afterAll(() => rmSync(d, { recursive: true, force: true }));
  writeFileSync(join(d, 'a-file'), 'x');
  mkdirSync(join(d, 'a-dir'));

  it('makes both folders when they are missing', () => {
    prepareOutputPaths({ junitPath: join(d, 'new/reports/junit.xml'), logsDir: join(d, 'new/logs'), labels: CLI });
    expect(statSync(join(d, 'new/reports')).isDirectory()).toBe(true);
    expect(statSync(join(d, 'new/logs')).isDirectory()).toBe(true);
  });

  it('refuses a junit-path that is a directory, naming the flag or input', () => {
    expect(errorOf(join(d, 'a-dir'), join(d, 'logs'))).toBe(
      `--junit-path: ${d}/a-dir is a directory; expected the path of the report file to write, e.g. ${d}/a-dir/junit.xml`,
    );
    expect(errorOf(join(d, 'a-dir'), join(d, 'logs'), ACTION)).toMatch(/^input `junit-path`: .* is a directory;/);
  });

  it('refuses a junit-path whose folder cannot be made because a file is in the way', () => {
    expect(errorOf(join(d, 'a-file/junit.xml'), join(d, 'logs'))).toBe(`--junit-path: cannot write ${d}/a-file/junit.xml: ${d}/a-file is a file, not a directory`);
    expect(errorOf(join(d, 'a-file/deeper/junit.xml'), join(d, 'logs'))).toBe(
      `--junit-path: cannot write ${d}/a-file/deeper/junit.xml: ${d}/a-file is a file, not a directory`,
    );
  });

  it('refuses a logs-dir that is a file or lies under one', () => {
    expect(errorOf(join(d, 'junit.xml'), join(d, 'a-file'))).toBe(`--logs-dir: ${d}/a-file is a file, not a directory`);
    expect(errorOf(join(d, 'junit.xml'), join(d, 'a-file/logs'), ACTION)).toBe(`input \`logs-dir\`: cannot create ${d}/a-file/logs: ${d}/a-file is a file, not a directory`);
  });

  it('refuses a junit-path that the logs-dir would make a directory', () => {
    expect(errorOf(join(d, 'same'), join(d, 'same'))).toMatch(/^--junit-path: .*\/same is a directory;/);
    expect(errorOf(join(d, 'out'), join(d, 'out/logs'))).toMatch(/^--junit-path: .*\/out is a directory;/);
  });

  it.skipIf(process.getuid?.() === 0)('refuses folders and files it cannot write', () => {
    mkdirSync(join(d, 'locked'), { mode: 0o555 });
    writeFileSync(join(d, 'read-only.xml'), '', { mode: 0o444 });
    expect(errorOf(join(d, 'junit.xml'), join(d, 'locked/logs'))).toBe(`--logs-dir: cannot write in ${d}/locked/logs (permission denied)`);
    expect(errorOf(join(d, 'read-only.xml'), join(d, 'logs'))).toBe(`--junit-path: ${d}/read-only.xml exists and is not writable`);
  });
});
