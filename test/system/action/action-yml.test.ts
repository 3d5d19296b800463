import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { OPTIONS, OUTPUTS } from '../../../src/config/index.js';

const root = resolve(__dirname, '../../..');
const action = parse(readFileSync(`${root}/action.yml`, 'utf8')) as {
  inputs: Record<string, { description: string; default?: string; required?: boolean }>;
  outputs: Record<string, { description: string }>;
  runs: Record<string, string>;
};

describe('action.yml', () => {
  it('is a JavaScript action on node24 with a post step that always runs', () => {
    expect(action.runs).toEqual({ using: 'node24', main: 'dist/main.js', post: 'dist/post.js', 'post-if': 'always()' });
  });

  it('declares exactly the options the code reads, with the same descriptions and defaults', () => {
    expect(Object.keys(action.inputs)).toEqual(Object.keys(OPTIONS));
    for (const [name, spec] of Object.entries(OPTIONS) as [string, { description: string; default?: string }][]) {
      expect(action.inputs[name]!.description, name).toBe(spec.description);
      expect(action.inputs[name]!.default, name).toBe(spec.default);
    }
  });

  it('has a description the Marketplace accepts (at most 125 characters)', () => {
    const description = (parse(readFileSync(`${root}/action.yml`, 'utf8')) as { description: string }).description;
    expect(description.length).toBeLessThanOrEqual(125);
  });

  it('declares exactly the outputs the code sets', () => {
    expect(Object.keys(action.outputs)).toEqual(Object.keys(OUTPUTS));
    for (const [name, description] of Object.entries(OUTPUTS)) expect(action.outputs[name]!.description).toBe(description);
  });
});
