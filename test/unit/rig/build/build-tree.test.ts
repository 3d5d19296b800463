// The persistent build tree with real make: a component built twice from neighbouring trees
// rebuilds only the object whose source changed; a removed source goes from the tree; a build
// killed midway leaves a tree the next build empties; a tree held by a live build is not shared.
import { spawn, execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { InfraError } from '../../../../src/errors.js';
import { BuildTree, listSources, treeRoot } from '../../../../src/rig/build/build-tree.js';
import { BuildFailure } from '../../../../src/rig/build/failure.js';
import { ensureComponents, planComponent, type ComponentRecipe } from '../../../../src/rig/build/recipe.js';
import { cacheWithToolchain } from '../../../support/toolchain-cache.js';

const scratch = mkdtempSync(join(tmpdir(), 'build-tree-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

// Two objects from two sources, linked into one output: make decides by mtimes alone.
const MAKEFILE = `all: out.txt
out.txt: a.o b.o
\tcat a.o b.o > out.txt
%.o: %.src
\t@echo built $@ >> built.log
\tcp $< $@
`;

/** A recipe building `sources` (name → content) with make, incrementally when asked. */
function recipe(version: string, sources: Record<string, string>, opts: { reuse?: boolean; breakMake?: boolean } = {}): ComponentRecipe {
  return {
    plan: planComponent({ component: 'demo', version }),
    label: 'demo',
    underTest: true,
    ...(opts.reuse === false ? {} : { reuseTree: true }),
    patches: [],
    async fetch({ build }) {
      const tree = join(build.work, 'src');
      mkdirSync(tree, { recursive: true });
      writeFileSync(join(tree, 'Makefile'), opts.breakMake ? 'all:\n\tfalse\n' : MAKEFILE);
      for (const [name, text] of Object.entries(sources)) writeFileSync(join(tree, name), text);
      mkdirSync(join(tree, '.git'));
      writeFileSync(join(tree, '.git', 'HEAD'), 'not a source\n');
      return tree;
    },
    async make({ build, tree, out, reused }) {
      await build.step('make', 'make.log', 'make', ['-C', tree], {});
      writeFileSync(join(out, 'out.txt'), readFileSync(join(tree, 'out.txt')));
      const log = join(tree, 'built.log');
      writeFileSync(join(out, 'built'), existsSync(log) ? readFileSync(log) : '');
      rmSync(log, { force: true });
      if (reused) reused.notes.version = version;
      return { files: { out: 'out.txt', built: 'built' }, features: {}, built: `demo ${version}` };
    },
  };
}

const built = (dir: string) => readFileSync(join(dir, 'built'), 'utf8').trim().split('\n').filter(Boolean);

describe('persistent build tree', () => {
  it('rebuilds only what changed, removes what is gone, and says so in the log and the record', async () => {
    const { cacheDir, toolchain } = cacheWithToolchain(scratch);
    const lines: string[] = [];
    const first = await ensureComponents(cacheDir, { c: recipe('1', { 'a.src': 'A1\n', 'b.src': 'B1\n', 'old.txt': 'x\n' }) }, toolchain, (l) => lines.push(l));
    expect(built(first.c.dir).sort()).toEqual(['built a.o', 'built b.o']);
    expect(lines.some((l) => l.includes('build tree') && l.includes('a full build (first use'))).toBe(true);
    expect(first.c.record.built).toBe('demo 1; built incrementally in the persistent build tree (first build there)');
    const tree = join(treeRoot(cacheDir, 'demo'), 'tree');
    const aMtime = statSync(join(tree, 'a.src')).mtimeMs;

    lines.length = 0;
    const second = await ensureComponents(cacheDir, { c: recipe('2', { 'a.src': 'A1\n', 'b.src': 'B2\n' }) }, toolchain, (l) => lines.push(l));
    expect(built(second.c.dir)).toEqual(['built b.o']);
    expect(readFileSync(join(second.c.dir, 'out.txt'), 'utf8')).toBe('A1\nB2\n');
    // Unchanged: the same file, its mtime kept; gone from the sources: gone from the tree; the
    // fetched .git moved over whole, as a clean build has it, and no change.
    expect(statSync(join(tree, 'a.src')).mtimeMs).toBe(aMtime);
    expect(existsSync(join(tree, 'old.txt'))).toBe(false);
    expect(readFileSync(join(tree, '.git', 'HEAD'), 'utf8')).toBe('not a source\n');
    const said = lines.find((l) => l.startsWith('demo: build tree '))!;
    expect(said).toContain(`reused, 2 source files changed since its build of component ${recipe('1', {}).plan.key.slice(0, 12)}: b.src, old.txt`);
    expect(second.c.record.built).toMatch(/built incrementally in the persistent build tree \(2 source files changed/);
    // No lock left behind.
    expect(existsSync(join(treeRoot(cacheDir, 'demo'), 'lock'))).toBe(false);
  });

  it("keeps a tree after the tree's own build error, and empties one whose build did not end", async () => {
    const { cacheDir, toolchain } = cacheWithToolchain(scratch);
    await ensureComponents(cacheDir, { c: recipe('1', { 'a.src': 'A1\n', 'b.src': 'B1\n' }) }, toolchain, () => {});
    // The tree under test fails to build: the next build reuses the tree.
    await expect(ensureComponents(cacheDir, { c: recipe('2', { 'a.src': 'A1\n', 'b.src': 'B1\n' }, { breakMake: true }) }, toolchain, () => {})).rejects.toThrow(BuildFailure);
    const third = await ensureComponents(cacheDir, { c: recipe('3', { 'a.src': 'A1\n', 'b.src': 'B1\n' }) }, toolchain, () => {});
    expect(built(third.c.dir)).toEqual([]);
    expect(third.c.record.built).toMatch(/1 source file changed since its build of component/);

    // A build that ended any other way (killed, disk full) may have left half-written objects.
    const failing: ComponentRecipe = { ...recipe('4', { 'a.src': 'A1\n', 'b.src': 'B1\n' }), make: async () => { throw new InfraError('disk full'); } };
    await expect(ensureComponents(cacheDir, { c: failing }, toolchain, () => {})).rejects.toThrow('disk full');
    const lines: string[] = [];
    const fifth = await ensureComponents(cacheDir, { c: recipe('5', { 'a.src': 'A1\n', 'b.src': 'B1\n' }) }, toolchain, (l) => lines.push(l));
    expect(built(fifth.c.dir).sort()).toEqual(['built a.o', 'built b.o']);
    expect(lines.some((l) => l.includes('a full build (first use, or its last build did not end)'))).toBe(true);
  });

  it('is not shared: while a live process holds it, a build uses a fresh copy; a dead holder is taken over', async () => {
    const { cacheDir, toolchain } = cacheWithToolchain(scratch);
    const root = treeRoot(cacheDir, 'demo');
    mkdirSync(root, { recursive: true });
    const holder = spawn('sleep', ['30']);
    try {
      writeFileSync(join(root, 'lock'), `${holder.pid}\n`);
      const lines: string[] = [];
      const made = await ensureComponents(cacheDir, { c: recipe('1', { 'a.src': 'A\n', 'b.src': 'B\n' }) }, toolchain, (l) => lines.push(l));
      expect(lines).toContain(`demo: the build tree ${root} is in use by process ${holder.pid}: building in a fresh copy`);
      expect(made.c.record.built).toBe('demo 1');
      expect(readFileSync(join(root, 'lock'), 'utf8').trim()).toBe(String(holder.pid));
    } finally {
      holder.kill('SIGKILL');
    }
    await new Promise((r) => holder.once('exit', r));
    const taken = await BuildTree.take(cacheDir, 'demo');
    expect(taken).toBeInstanceOf(BuildTree);
    await (taken as BuildTree).release();
  });

  it("syncs the user's unpatched local tree straight from where it lies, and copies it only when the build tree is busy", async () => {
    const { cacheDir, toolchain } = cacheWithToolchain(scratch);
    const local = join(scratch, 'local-tree');
    mkdirSync(join(local, '.git'), { recursive: true });
    writeFileSync(join(local, 'Makefile'), MAKEFILE);
    writeFileSync(join(local, 'a.src'), 'A\n');
    writeFileSync(join(local, 'b.src'), 'B\n');
    const fetched: string[] = [];
    const direct = (version: string): ComponentRecipe => {
      const base = recipe(version, { 'a.src': 'A\n', 'b.src': 'B\n' });
      return { ...base, fetch: (ctx) => (fetched.push(version), base.fetch(ctx)), localSources: () => ({ root: local, files: ['Makefile', 'a.src', 'b.src'] }) };
    };
    const lines: string[] = [];
    const made = await ensureComponents(cacheDir, { c: direct('1') }, toolchain, (l) => lines.push(l));
    expect(fetched).toEqual([]);
    expect(lines).toContain(`demo: syncing 3 files of ${local} into the build tree`);
    expect(readFileSync(join(made.c.dir, 'out.txt'), 'utf8')).toBe('A\nB\n');
    expect(existsSync(join(treeRoot(cacheDir, 'demo'), 'tree', '.git'))).toBe(false);

    const holder = spawn('sleep', ['30']);
    try {
      writeFileSync(join(treeRoot(cacheDir, 'demo'), 'lock'), `${holder.pid}\n`);
      await ensureComponents(cacheDir, { c: direct('2') }, toolchain, () => {});
      expect(fetched).toEqual(['2']);
    } finally {
      holder.kill('SIGKILL');
    }
  });

  it('takes a source the build rewrote (autogen, bison) for unchanged while the source is', async () => {
    const { cacheDir } = cacheWithToolchain(scratch);
    const staged = join(scratch, 'staged-rewritten');
    mkdirSync(staged, { recursive: true });
    writeFileSync(join(staged, 'configure'), 'shipped\n');
    writeFileSync(join(staged, 'main.c'), 'int main;\n');
    const t = (await BuildTree.take(cacheDir, 'y')) as BuildTree;
    try {
      const first = await t.sync(staged);
      writeFileSync(join(t.dir, 'configure'), 'regenerated by the build\n');
      await t.ended('built', first, 'k'.repeat(64));
      const again = await t.sync(staged);
      expect([...again.changed]).toEqual([]);
      expect(readFileSync(join(t.dir, 'configure'), 'utf8')).toBe('regenerated by the build\n');
      await t.ended('built', again, 'k'.repeat(64));
      // The source itself changes: the tree gets it.
      writeFileSync(join(staged, 'configure'), 'shipped, new\n');
      expect([...(await t.sync(staged)).changed]).toEqual(['configure']);
      expect(readFileSync(join(t.dir, 'configure'), 'utf8')).toBe('shipped, new\n');
    } finally {
      await t.release();
    }
  });

  it('refuses a state naming a path outside the tree: the tree starts empty instead', async () => {
    const { cacheDir } = cacheWithToolchain(scratch);
    const victim = join(scratch, 'victim');
    writeFileSync(victim, 'keep me\n');
    const root = treeRoot(cacheDir, 'z');
    mkdirSync(join(root, 'tree'), { recursive: true });
    writeFileSync(join(root, 'state.json'), JSON.stringify({ status: 'built', sources: { '../../../../victim': 'file x' }, notes: {} }));
    const staged = join(scratch, 'staged-z');
    mkdirSync(staged, { recursive: true });
    writeFileSync(join(staged, 'f'), 'f\n');
    const t = (await BuildTree.take(cacheDir, 'z')) as BuildTree;
    try {
      expect((await t.sync(staged)).fresh).toBe(true);
      expect(readFileSync(victim, 'utf8')).toBe('keep me\n');
    } finally {
      await t.release();
    }
  });

  it('syncs links, modes and a directory that became a file', async () => {
    const { cacheDir } = cacheWithToolchain(scratch);
    const staged = join(scratch, 'staged');
    mkdirSync(join(staged, 'd'), { recursive: true });
    writeFileSync(join(staged, 'd', 'f'), 'f\n');
    writeFileSync(join(staged, 'run.sh'), '#!/bin/sh\n', { mode: 0o644 });
    execFileSync('ln', ['-s', 'run.sh', join(staged, 'link')]);
    const t = (await BuildTree.take(cacheDir, 'x')) as BuildTree;
    try {
      expect((await t.sync(staged)).fresh).toBe(true);
      rmSync(join(staged, 'd'), { recursive: true });
      writeFileSync(join(staged, 'd'), 'now a file\n');
      execFileSync('chmod', ['755', join(staged, 'run.sh')]);
      rmSync(join(staged, 'link'));
      execFileSync('ln', ['-s', 'd', join(staged, 'link')]);
      // Only a build that ended makes the tree reusable.
      await t.ended('built', { fresh: true, changed: new Set(), previous: {}, notes: { n: '1' }, scratch: '' }, 'k'.repeat(64));
      const r = await t.sync(staged);
      expect(r.fresh).toBe(false);
      expect(r.previous).toEqual({ n: '1' });
      expect([...r.changed].sort()).toEqual(['d', 'd/f', 'link', 'run.sh']);
      expect(readFileSync(join(t.dir, 'd'), 'utf8')).toBe('now a file\n');
      expect(statSync(join(t.dir, 'run.sh')).mode & 0o777).toBe(0o755);
      expect(await listSources(t.dir)).toEqual(['d', 'link', 'run.sh']);
    } finally {
      await t.release();
    }
  });
});
