// The list options (scenarios, xen-patches, qemu-patches): how a value splits into entries and
// how an entry becomes files. Real files in a temporary workspace, globbed by the real library.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { builtInScenarioDir, MAX_GLOB_MATCHES, resolveFiles, resolveScenarioFiles, splitList } from '../../../src/config/scenario-list.js';
import { configErrorOf } from '../../support/config-error.js';

function workspace(files: readonly string[]): string {
  const dir = mkdtempSync(join(tmpdir(), 'xpv-list-'));
  for (const name of files) {
    mkdirSync(join(dir, name, '..'), { recursive: true });
    writeFileSync(join(dir, name), name);
  }
  return dir;
}

const patches = (value: string, cwd: string) => resolveFiles(splitList(value), cwd, '--xen-patches', 'patch file');
const under = (cwd: string, files: string[]) => files.map((f) => f.slice(cwd.length + 1));

describe('splitList', () => {
  it('splits on newlines, commas and spaces, as it always has', () => {
    expect(splitList('a.yaml b.yaml')).toEqual(['a.yaml', 'b.yaml']);
    expect(splitList('boot-smoke, virtio-blk,two-domus')).toEqual(['boot-smoke', 'virtio-blk', 'two-domus']);
    expect(splitList('\n  boot-smoke\n  ci/*.yaml ci/x.yaml,\n\n')).toEqual(['boot-smoke', 'ci/*.yaml', 'ci/x.yaml']);
    expect(splitList(' ,\t, ')).toEqual([]);
    expect(splitList('')).toEqual([]);
  });

  it('keeps a quoted entry whole, spaces and commas included, and goes on after the quote', () => {
    expect(splitList('"my scenarios/a.yaml", b.yaml')).toEqual(['my scenarios/a.yaml', 'b.yaml']);
    expect(splitList("'patches, old/*.patch'\nnew.patch")).toEqual(['patches, old/*.patch', 'new.patch']);
    expect(splitList('"my scenarios"/*.yaml')).toEqual(['my scenarios/*.yaml']);
    expect(splitList(`"it's here.yaml" 'say "hi".yaml'`)).toEqual(["it's here.yaml", 'say "hi".yaml']);
  });

  it('leaves a quote alone when it is inside a name or not closed on its line', () => {
    expect(splitList("it's.yaml other's.yaml")).toEqual(["it's.yaml", "other's.yaml"]);
    expect(splitList('"open a.yaml\nb.yaml"')).toEqual(['"open', 'a.yaml', 'b.yaml"']);
  });

  it('keeps the commas of a brace group in its glob', () => {
    expect(splitList('ci/{a,b}.yaml, ci/{c,{d,e}}.yaml')).toEqual(['ci/{a,b}.yaml', 'ci/{c,{d,e}}.yaml']);
    // Not closed on its line: an ordinary character, as before.
    expect(splitList('x{a,b\n}')).toEqual(['x{a', 'b', '}']);
  });
});

describe('resolveFiles', () => {
  it('takes entries in the order given, a glob in name order, each file once', () => {
    const cwd = workspace(['p/0002-b.patch', 'p/0001-a.patch', 'p/0010-c.patch', 'z.patch']);
    expect(under(cwd, patches('z.patch p/*.patch p/0001-a.patch', cwd))).toEqual(['z.patch', 'p/0001-a.patch', 'p/0002-b.patch', 'p/0010-c.patch']);
  });

  it('speaks braces, character classes, ** and extglobs', () => {
    const cwd = workspace(['ci/a.yaml', 'ci/b.yaml', 'ci/c.yml', 'ci/deep/er/d.yaml', 'ci/notes.txt']);
    const scenarios = (value: string) => under(cwd, resolveFiles(splitList(value), cwd, '--scenarios', 'scenario file'));
    expect(scenarios('ci/{a,c}.{yaml,yml}')).toEqual(['ci/a.yaml', 'ci/c.yml']);
    expect(scenarios('ci/[ab].yaml')).toEqual(['ci/a.yaml', 'ci/b.yaml']);
    expect(scenarios('ci/[!a].y*ml')).toEqual(['ci/b.yaml', 'ci/c.yml']);
    expect(scenarios('ci/**/*.yaml')).toEqual(['ci/a.yaml', 'ci/b.yaml', 'ci/deep/er/d.yaml']);
    expect(scenarios('ci/*.@(yml|txt)')).toEqual(['ci/c.yml', 'ci/notes.txt']);
  });

  it('takes a path with spaces when it is quoted, glob or not', () => {
    const cwd = workspace(['my patches/0001 fix.patch', 'my patches/0002 more.patch']);
    expect(under(cwd, patches('"my patches/0002 more.patch", "my patches"/*.patch', cwd))).toEqual([
      'my patches/0002 more.patch',
      'my patches/0001 fix.patch',
    ]);
    // Unquoted, the spaces split it, and the message names the piece that is missing.
    expect(configErrorOf(() => patches('my patches/0001 fix.patch', cwd))).toBe('--xen-patches: patch file not found: my');
    expect(configErrorOf(() => patches('"my patches/0001 fix.patch', cwd))).toBe(
      `--xen-patches: patch file not found: "my (its " has no closing " on the same line, so it is part of the name)`,
    );
  });

  it('takes names with glob characters as written when such a file or folder exists', () => {
    const cwd = workspace(['x[1].patch', 'x1.patch', 'old (2023)/a.patch', 'old (2023)/b.patch', '{a}.patch']);
    expect(under(cwd, patches('x[1].patch {a}.patch', cwd))).toEqual(['x[1].patch', '{a}.patch']);
    expect(under(cwd, patches('"old (2023)"/*.patch', cwd))).toEqual(['old (2023)/a.patch', 'old (2023)/b.patch']);
    // No such file: then it is a glob.
    expect(under(cwd, patches('x[0-9].patch', cwd))).toEqual(['x1.patch']);
  });

  it('names the input and the entry for a glob that matches nothing', () => {
    const cwd = workspace(['p/a.patch']);
    expect(configErrorOf(() => patches('p/*.patch p/*.diff', cwd))).toBe(`--xen-patches: p/*.diff matches no files (relative to ${cwd})`);
    expect(configErrorOf(() => patches('q/{a,b}.patch', cwd))).toBe(`--xen-patches: q/{a,b}.patch matches no files (relative to ${cwd})`);
  });

  it('globs outside the working directory, by absolute path or ..', () => {
    const outside = workspace(['shared/a.patch']);
    const cwd = workspace(['here.patch']);
    expect(patches(`${outside}/shared/*.patch`, cwd)).toEqual([join(outside, 'shared/a.patch')]);
    expect(patches(`../${outside.split('/').pop()}/shared/*.patch`, cwd)).toEqual([join(outside, 'shared/a.patch')]);
  });

  it('matches hidden files, never searches node_modules below the glob, and never returns a folder', () => {
    const cwd = workspace(['ci/.draft.yaml', 'ci/a.yaml', 'ci/node_modules/pkg/x.yaml', 'ci/dir.yaml/inner.yaml', 'node_modules/pkg/y.yaml']);
    expect(under(cwd, patches('ci/**', cwd))).toEqual(['ci/.draft.yaml', 'ci/a.yaml', 'ci/dir.yaml/inner.yaml']);
    expect(under(cwd, patches('ci/*.yaml', cwd))).toEqual(['ci/.draft.yaml', 'ci/a.yaml']);
    // Asked for by name, a node_modules folder is searched.
    expect(under(cwd, patches('node_modules/pkg/*.yaml', cwd))).toEqual(['node_modules/pkg/y.yaml']);
    expect(configErrorOf(() => patches('ci', cwd))).toBe('--xen-patches: patch file ci is a directory; name the files in it (a glob will do)');
  });

  it('follows symbolic links, walks a loop once, and leaves out what is not a regular file', () => {
    const cwd = workspace(['ci/a.yaml']);
    const elsewhere = workspace(['shared/s.yaml', 'single/t.yaml']);
    symlinkSync(join(elsewhere, 'shared'), join(cwd, 'ci/linked'));
    symlinkSync(join(elsewhere, 'single/t.yaml'), join(cwd, 'ci/file-link.yaml'));
    symlinkSync(join(cwd, 'nowhere.yaml'), join(cwd, 'ci/dangling.yaml'));
    symlinkSync('..', join(cwd, 'ci/loop'));
    execFileSync('mkfifo', [join(cwd, 'ci/pipe.yaml')]);
    // Through the loop, ci/loop/ci/a.yaml is ci/a.yaml again: each file is taken once, by the name it sorts first under.
    expect(under(cwd, patches('ci/**/*.yaml', cwd))).toEqual(['ci/a.yaml', 'ci/file-link.yaml', 'ci/linked/s.yaml']);
    // A link and its target, named both: one file.
    expect(patches(`ci/file-link.yaml ${elsewhere}/single/t.yaml`, cwd)).toEqual([join(cwd, 'ci/file-link.yaml')]);
    expect(configErrorOf(() => patches('ci/pipe.yaml', cwd))).toBe('--xen-patches: patch file ci/pipe.yaml is a FIFO, not a regular file');
  });

  it(`refuses a glob that matches more than ${MAX_GLOB_MATCHES} files`, () => {
    const cwd = workspace([]);
    mkdirSync(join(cwd, 'many'));
    for (let i = 0; i <= MAX_GLOB_MATCHES; i++) writeFileSync(join(cwd, 'many', `${i}.patch`), '');
    expect(configErrorOf(() => patches('many/*.patch', cwd))).toBe(
      `--xen-patches: many/*.patch matches ${MAX_GLOB_MATCHES + 1} files, more than the ${MAX_GLOB_MATCHES} a list may take from one glob; narrow it`,
    );
  });
});

describe('resolveScenarioFiles', () => {
  it('mixes built-in names, files and globs, each file once', () => {
    const cwd = workspace(['ci/a.yaml', 'ci/b.yaml']);
    const files = resolveScenarioFiles(splitList('boot-smoke\nci/{a,b}.yaml\nci/a.yaml, boot-smoke'), cwd, '--scenarios');
    expect(files).toEqual([join(builtInScenarioDir(), 'boot-smoke.yaml'), join(cwd, 'ci/a.yaml'), join(cwd, 'ci/b.yaml')]);
  });
});
