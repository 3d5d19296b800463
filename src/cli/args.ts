// CLI flags are the action's inputs under the same names (--rig, --boot, --ssh-port …).
import { parseArgs } from 'node:util';
import { OPTIONS, OPTION_NAMES, type OptionName, type RawOptions } from '../config/options.js';
import { ConfigError } from '../errors.js';

export interface ParsedCommand {
  words: string[];
  raw: RawOptions;
  help: boolean;
  version: boolean;
  /** Values of the command's own flags (those passed as `own`), which are no run options. */
  own: Record<string, string>;
}

const BOOLEANS = new Set<string>(OPTION_NAMES.filter((n) => OPTIONS[n].kind === 'boolean'));

/**
 * Yes/no options read the way command lines usually do: `--snapshot` alone is true,
 * `--no-snapshot` is false, and `--snapshot false` (the action input's spelling) still works.
 */
function spellBooleans(argv: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') {
      out.push(...argv.slice(i));
      break;
    }
    const negated = /^--no-(.+)$/.exec(arg);
    if (negated && BOOLEANS.has(negated[1]!)) out.push(`--${negated[1]}=false`);
    else if (arg.startsWith('--') && BOOLEANS.has(arg.slice(2)) && !/^(true|false)$/i.test(argv[i + 1] ?? '')) out.push(`${arg}=true`);
    else out.push(arg);
  }
  return out;
}

export function parseCommandLine(argv: readonly string[], own: readonly string[] = []): ParsedCommand {
  const options: Record<string, { type: 'string' | 'boolean'; short?: string }> = {
    help: { type: 'boolean', short: 'h' },
    version: { type: 'boolean' },
  };
  for (const name of OPTION_NAMES) options[name] = { type: 'string' };
  for (const name of own) options[name] = { type: 'string' };
  let parsed;
  try {
    parsed = parseArgs({ args: spellBooleans(argv), options, allowPositionals: true, strict: true });
  } catch (e) {
    throw new ConfigError(`${(e as Error).message.split('\n')[0]}; see --help`);
  }
  const values: RawOptions['values'] = {};
  for (const name of OPTION_NAMES) {
    const v = parsed.values[name];
    if (typeof v === 'string') values[name] = v;
  }
  return {
    words: parsed.positionals,
    raw: { values, label: (name: OptionName) => `--${name}` },
    help: parsed.values.help === true,
    version: parsed.values.version === true,
    own: Object.fromEntries(own.flatMap((name) => (typeof parsed.values[name] === 'string' ? [[name, parsed.values[name]]] : []))),
  };
}

export function optionsHelp(): string {
  const rows = OPTION_NAMES.map((name) => {
    const spec = OPTIONS[name] as { description: string; default?: string; choices?: readonly string[] };
    const dflt = spec.default !== undefined ? ` (default: ${spec.default})` : '';
    if (BOOLEANS.has(name)) return `  --${name} [true|false], --no-${name}\n      ${spec.description}${dflt}`;
    const value = spec.choices ? spec.choices.join('|') : 'VALUE';
    return `  --${name} ${value}\n      ${spec.description}${dflt}`;
  });
  return [...rows, '  -h, --help\n      Show help.'].join('\n');
}
