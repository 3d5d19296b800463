// CLI flags are the action's inputs under the same names (--rig, --boot, --ssh-port …).
import { parseArgs } from 'node:util';
import { OPTIONS, OPTION_NAMES, type OptionName, type RawOptions } from '../config/options.js';
import { ConfigError } from '../errors.js';

export interface ParsedCommand {
  words: string[];
  raw: RawOptions;
  help: boolean;
  version: boolean;
}

export function parseCommandLine(argv: readonly string[]): ParsedCommand {
  const options: Record<string, { type: 'string' | 'boolean'; short?: string }> = {
    help: { type: 'boolean', short: 'h' },
    version: { type: 'boolean' },
    'no-cache': { type: 'boolean' },
  };
  for (const name of OPTION_NAMES) options[name] = { type: 'string' };
  let parsed;
  try {
    parsed = parseArgs({ args: [...argv], options, allowPositionals: true, strict: true });
  } catch (e) {
    throw new ConfigError(`${(e as Error).message.split('\n')[0]}; see --help`);
  }
  const values: RawOptions['values'] = {};
  for (const name of OPTION_NAMES) {
    const v = parsed.values[name];
    if (typeof v === 'string') values[name] = v;
  }
  if (parsed.values['no-cache']) values.cache = 'false';
  return {
    words: parsed.positionals,
    raw: { values, label: (name: OptionName) => `--${name}` },
    help: parsed.values.help === true,
    version: parsed.values.version === true,
  };
}

export function optionsHelp(): string {
  const rows = OPTION_NAMES.map((name) => {
    const spec = OPTIONS[name] as { description: string; default?: string; choices?: readonly string[] };
    const value = spec.choices ? spec.choices.join('|') : name === 'cache' ? 'true|false' : 'VALUE';
    const dflt = spec.default !== undefined ? ` (default: ${spec.default})` : '';
    return `  --${name} ${value}\n      ${spec.description}${dflt}`;
  });
  return [...rows, '  --no-cache\n      Same as --cache false.', '  -h, --help\n      Show help.'].join('\n');
}
