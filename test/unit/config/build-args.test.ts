// The user's extra build arguments (xen-configure-args, xen-make-args, qemu-configure-args):
// one line split like a shell would split plain words and quotes, nothing else special, and
// only for rig: source, whose builds they go into.
import { describe, expect, it } from 'vitest';
import { resolvePlan, type RawOptions } from '../../../src/config/index.js';
import { buildArgsText, splitBuildArgs } from '../../../src/config/build-args.js';
import { configErrorOf } from '../../support/config-error.js';

const split = (text: string) => splitBuildArgs(text, '--xen-make-args');
const raw = (values: RawOptions['values'], label = (n: string) => `--${n}`): RawOptions => ({ values, label });
const plan = (values: RawOptions['values'], label?: (n: string) => string) => resolvePlan(raw(values, label), { cwd: '/work', env: { HOME: '/home/dev' } });

describe('splitting extra build arguments', () => {
  it('splits at runs of spaces and tabs', () => {
    expect(split('debug=y  EXTRA_CFLAGS_XEN_CORE=-Wno-error\t-k')).toEqual(['debug=y', 'EXTRA_CFLAGS_XEN_CORE=-Wno-error', '-k']);
    expect(split('')).toEqual([]);
    expect(split('   ')).toEqual([]);
  });

  it('keeps a quoted part whole, joined to what touches it, with the other quote plain inside', () => {
    expect(split(`EXTRA_CFLAGS_XEN_CORE="-Wno-error -O1" --extra-cflags='-DX="a b"'`)).toEqual(['EXTRA_CFLAGS_XEN_CORE=-Wno-error -O1', '--extra-cflags=-DX="a b"']);
    expect(split(`a'b c'd "" ''`)).toEqual(['ab cd', '', '']);
    // No escapes and no shell: a backslash, a dollar, a semicolon are just characters.
    expect(split('CFLAGS=\\$HOME;rm -rf /')).toEqual(['CFLAGS=\\$HOME;rm', '-rf', '/']);
  });

  it('refuses an unclosed quote, a line break and a NUL, naming the input', () => {
    expect(configErrorOf(() => split(`--foo="a b`))).toBe('--xen-make-args: the " at character 7 is never closed');
    expect(configErrorOf(() => split(`'x`))).toBe("--xen-make-args: the ' at character 1 is never closed");
    expect(configErrorOf(() => split('debug=y\nfoo'))).toBe('--xen-make-args: holds a line break (at character 8); give the arguments on one line, separated by spaces');
    expect(configErrorOf(() => split('a\r'))).toMatch(/^--xen-make-args: holds a line break/);
    expect(configErrorOf(() => split('a\0b'))).toBe('--xen-make-args: holds a NUL character (at character 2); give the arguments on one line, separated by spaces');
    expect(configErrorOf(() => split('x'.repeat(5000)))).toBe('--xen-make-args: 5000 characters, more than the 4096 extra build arguments may take');
  });

  it('shows arguments back with the ones holding spaces or quotes quoted', () => {
    expect(buildArgsText(['debug=y', 'CFLAGS=-O1 -g', '', 'a"b'])).toBe('debug=y "CFLAGS=-O1 -g" "" "a\\"b"');
  });
});

describe('the extra build argument options', () => {
  it('reach the rig request of rig: source as argument lists, and are absent when not given', () => {
    const rig = plan({ rig: 'source', 'xen-configure-args': '--disable-golang', 'xen-make-args': 'debug=y "EXTRA_CFLAGS_XEN_CORE=-Wno-error -O1"', 'qemu-configure-args': '--disable-werror' }).rig;
    expect(rig.xenConfigureArgs).toEqual(['--disable-golang']);
    expect(rig.xenMakeArgs).toEqual(['debug=y', 'EXTRA_CFLAGS_XEN_CORE=-Wno-error -O1']);
    expect(rig.qemuConfigureArgs).toEqual(['--disable-werror']);
    const plain = plan({ rig: 'source', 'qemu-configure-args': '  ' }).rig;
    expect(Object.keys(plain).filter((k) => k.endsWith('Args'))).toEqual([]);
  });

  it('are refused for every other rig, naming the input as the front end spells it', () => {
    expect(configErrorOf(() => plan({ 'qemu-configure-args': '--disable-werror' }))).toBe('--qemu-configure-args: extra build arguments need rig: source (rig is debian)');
    expect(configErrorOf(() => plan({ rig: 'yocto', 'xen-make-args': 'debug=y' }, (n) => `input \`${n}\``))).toBe('input `xen-make-args`: extra build arguments need rig: source (rig is yocto)');
  });

  it('name the input in a parse error', () => {
    expect(configErrorOf(() => plan({ rig: 'source', 'xen-configure-args': `--with-x='oops` }, (n) => `input \`${n}\``))).toBe("input `xen-configure-args`: the ' at character 10 is never closed");
  });
});

describe('incremental-builds', () => {
  it('reaches the rig request when a run builds a tree of the user’s: rig source, or a kernel from linux-path or linux-repo', () => {
    expect(plan({}).rig.incrementalBuilds).toBeUndefined();
    expect(plan({ rig: 'source', 'incremental-builds': 'false' }).rig.incrementalBuilds).toBeUndefined();
    expect(plan({ rig: 'source', 'incremental-builds': 'true' }).rig.incrementalBuilds).toBe(true);
    expect(plan({ 'linux-path': 'linux', 'incremental-builds': 'true' }).rig).toMatchObject({ provider: 'debian', kernel: 'source', incrementalBuilds: true });
  });

  it('is refused where nothing of the user’s is built, naming the input', () => {
    expect(configErrorOf(() => plan({ 'incremental-builds': 'true' }, (n) => `input \`${n}\``))).toBe(
      'input `incremental-builds`: nothing to build incrementally: rig debian builds no tree of yours (rig: source builds Xen and QEMU; linux-path or linux-repo a kernel)',
    );
    expect(configErrorOf(() => plan({ 'incremental-builds': 'yes' }))).toBe('--incremental-builds: expected true or false, got "yes"');
  });
});
