import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { inputsTable, outputsTable } from '../../src/config/options-table.js';

const readme = readFileSync(resolve(__dirname, '../../README.md'), 'utf8');
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
});
