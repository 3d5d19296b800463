// The only reader of @actions/core inputs: every option in the shared table, as raw strings.
import * as core from '@actions/core';
import { OPTION_NAMES, type RawOptions } from '../config/options.js';

export function readInputs(): RawOptions {
  const values: RawOptions['values'] = {};
  for (const name of OPTION_NAMES) {
    const v = core.getInput(name);
    if (v !== '') values[name] = v;
  }
  return { values, label: (name) => `input \`${name}\`` };
}
