// Command-line spelling: yes/no options read as booleans do on other command lines.
import { describe, expect, it } from 'vitest';
import { optionsHelp, parseCommandLine } from '../../../src/cli/args.js';
import { ConfigError } from '../../../src/errors.js';

const values = (...argv: string[]) => parseCommandLine(argv).raw.values;

describe('yes/no options', () => {
  it('take --name, --no-name and --name true|false', () => {
    expect(values('run', '--snapshot', 'false').snapshot).toBe('false');
    expect(values('run', '--no-snapshot').snapshot).toBe('false');
    expect(values('run', '--snapshot').snapshot).toBe('true');
    expect(values('run', '--snapshot=false').snapshot).toBe('false');
    expect(values('run', '--no-cache', '--fail-on-warnings').cache).toBe('false');
    expect(values('run', '--fail-on-warnings')['fail-on-warnings']).toBe('true');
  });

  it('leave the next word alone when it is not true or false', () => {
    const parsed = parseCommandLine(['run', '--snapshot', 'boot-smoke']);
    expect(parsed.raw.values.snapshot).toBe('true');
    expect(parsed.words).toEqual(['run', 'boot-smoke']);
  });

  it('do not turn other options or what follows -- into booleans', () => {
    expect(() => parseCommandLine(['run', '--no-boot'])).toThrow(ConfigError);
    expect(() => parseCommandLine(['run', '--no-boot'])).toThrow(/--no-boot.*see --help/);
    expect(parseCommandLine(['run', '--', '--no-snapshot']).words).toEqual(['run', '--no-snapshot']);
    expect(values('run', '--boot', 'direct').boot).toBe('direct');
  });

  it('are listed in --help with both spellings', () => {
    expect(optionsHelp()).toContain('--snapshot [true|false], --no-snapshot');
    expect(optionsHelp()).toContain('--boot uboot|direct');
  });
});
