import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { inputsTable, outputsTable } from '../../../src/config/options-table.js';
import { HOST_TOOLS, type HostNeed } from '../../../src/host/prerequisites.js';

const readme = readFileSync(resolve(__dirname, '../../../README.md'), 'utf8');
const between = (begin: string, end: string) => readme.slice(readme.indexOf(begin) + begin.length, readme.indexOf(end)).trim();

describe('README', () => {
  it('tabulates exactly the inputs and outputs of action.yml', () => {
    expect(between('-->', '<!-- inputs:end -->')).toBe(inputsTable());
    expect(between('<!-- outputs:begin -->', '<!-- outputs:end -->')).toBe(outputsTable());
  });

  it('gives the two fresh-machine commands, each one line', () => {
    expect(readme).toContain('\nnpm ci && node dist/cli.js run\n');
    expect(readme).toContain('\nnpm ci && npm test\n');
  });

  it('lists every host package the harness installs, by need, as src/host/prerequisites.ts has them', () => {
    const block = readme.slice(readme.indexOf('<!-- host-packages:begin'), readme.indexOf('<!-- host-packages:end -->'));
    const listed = (label: string) => [...(new RegExp(`^- ${label}[^:]*: (.*)$`, 'm').exec(block)?.[1] ?? '').matchAll(/`([^`]+)`/g)].map((m) => m[1]);
    const pkgs = (need: HostNeed, except: HostNeed[] = []) =>
      [...new Set(HOST_TOOLS.filter((t) => t.needs.includes(need) && !t.needs.some((n) => except.includes(n))).map((t) => t.pkg))].sort();
    expect(listed('booting')).toEqual(pkgs('boot'));
    expect(listed('building a rig from Debian packages')).toEqual(pkgs('rig-debian'));
    expect(listed('building a rig from source')).toEqual(pkgs('rig-source', ['rig-debian']));
    expect(listed('the project')).toEqual(pkgs('tests'));
  });
});
