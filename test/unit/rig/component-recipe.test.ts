// The component recipe as every provider now runs it: missing components are all fetched and
// patched before any is built, a cached one is found and not rebuilt, a failure leaves only
// what helps diagnose it, and fetch.log keeps every fetch's transcript.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, InfraError } from '../../../src/errors.js';
import { ComponentBuild, componentDir } from '../../../src/rig/build/component.js';
import type { ResolvedRef } from '../../../src/rig/build/git.js';
import { readPatch } from '../../../src/rig/build/patches.js';
import { ensureComponents, fetchOrigin, planComponent, type ComponentRecipe } from '../../../src/rig/build/recipe.js';
import { cacheWithToolchain } from '../../support/toolchain-cache.js';

const scratch = mkdtempSync(join(tmpdir(), 'component-recipe-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));
const quiet = () => undefined;


/** A recipe that writes one file and records what it did in events. */
function recipe(name: string, events: string[], opts: { patch?: string; failMake?: boolean } = {}): ComponentRecipe {
  return {
    plan: planComponent({ component: name, version: 1 }),
    label: name,
    patches: opts.patch ? [{ path: opts.patch, sha256: 'x', from: 'user' }] : [],
    async fetch({ build }) {
      events.push(`fetch ${name}`);
      const tree = join(build.work, 'src');
      mkdirSync(tree);
      writeFileSync(join(tree, 'README'), `${name}\n`);
      return tree;
    },
    async make({ tree, out }) {
      events.push(`make ${name}`);
      if (opts.failMake) throw new InfraError(`${name}: make failed`);
      writeFileSync(join(out, 'result'), readFileSync(join(tree, 'README')));
      return { files: { result: 'result' }, features: { built: true }, built: `${name} built` };
    },
  };
}

const workEntries = (cacheDir: string) => (existsSync(join(cacheDir, 'work')) ? readdirSync(join(cacheDir, 'work')) : []);

describe('ensureComponents', () => {
  it('fetches every missing tree before it builds any, installs each component, and finds them next time', async () => {
    const { cacheDir, toolchain } = cacheWithToolchain(scratch);
    const events: string[] = [];
    const lines: string[] = [];
    const recipes = { a: recipe('alpha', events), b: recipe('beta', events), none: undefined };
    const made = await ensureComponents(cacheDir, recipes, toolchain, (l) => lines.push(l));
    expect(events).toEqual(['fetch alpha', 'fetch beta', 'make alpha', 'make beta']);
    expect(made.none).toBeUndefined();
    expect(made.a.dir).toBe(componentDir(cacheDir, 'alpha', recipes.a.plan.key));
    expect(readFileSync(join(made.b.dir, 'result'), 'utf8')).toBe('beta\n');
    const record = JSON.parse(readFileSync(join(made.a.dir, 'component.json'), 'utf8'));
    expect(record).toMatchObject({ name: 'alpha', key: recipes.a.plan.key, inputs: { component: 'alpha', version: 1 }, files: { result: 'result' }, built: 'alpha built' });
    expect(record.host).toMatchObject({ gcc: '12', binutils: '2.40', 'sysroot libc': '2.36' });
    expect(lines).toContain(`building the alpha component ${recipes.a.plan.key.slice(0, 12)}`);
    expect(workEntries(cacheDir)).toEqual([]);

    const again: string[] = [];
    const hits: string[] = [];
    const cached = await ensureComponents(cacheDir, { a: recipe('alpha', again), b: recipe('beta', again) }, toolchain, (l) => hits.push(l));
    expect(again).toEqual([]);
    expect(cached.a.dir).toBe(made.a.dir);
    expect(hits).toEqual([`alpha component cache hit: ${made.a.dir}`, `beta component cache hit: ${made.b.dir}`]);
  });

  it('stops at a patch that does not apply before anything is built, leaving no work folder', async () => {
    const { cacheDir, toolchain } = cacheWithToolchain(scratch);
    const bad = join(scratch, 'bad.patch');
    writeFileSync(bad, '--- a/README\n+++ b/README\n@@ -1 +1 @@\n-not what the file says\n+changed\n');
    const events: string[] = [];
    const failed = ensureComponents(cacheDir, { a: recipe('alpha', events), b: recipe('beta', events, { patch: bad }) }, toolchain, quiet);
    await expect(failed).rejects.toThrow(ConfigError);
    await expect(failed).rejects.toThrow(bad);
    expect(events).toEqual(['fetch alpha', 'fetch beta']);
    expect(workEntries(cacheDir)).toEqual([]);
  });

  it("keeps a failed build's work folder for diagnosis and drops the trees not built yet", async () => {
    const { cacheDir, toolchain } = cacheWithToolchain(scratch);
    const events: string[] = [];
    const recipes = { a: recipe('alpha', events, { failMake: true }), b: recipe('beta', events) };
    await expect(ensureComponents(cacheDir, recipes, toolchain, quiet)).rejects.toThrow('alpha: make failed');
    expect(events).toEqual(['fetch alpha', 'fetch beta', 'make alpha']);
    expect(workEntries(cacheDir)).toEqual([`alpha-${recipes.a.plan.key.slice(0, 16)}-${process.pid}`]);
  });
});

describe('fetchOrigin', () => {
  it("appends to fetch.log, so a second fetch keeps the first one's transcript", async () => {
    const repo = join(scratch, 'repo');
    mkdirSync(repo);
    const git = (...args: string[]) => execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@t', ...args], { cwd: repo, encoding: 'utf8' }).trim();
    git('init', '-q', '-b', 'main');
    writeFileSync(join(repo, 'README'), 'tree\n');
    git('add', 'README');
    git('commit', '-q', '-m', 'one');
    const ref: ResolvedRef = { repoInput: 'xen-repo', refInput: 'xen-ref', repo, ref: 'main', commit: git('rev-parse', 'HEAD'), via: 'refs/heads/main' };

    const build = await ComponentBuild.start(join(scratch, 'cache-fetch'), 'demo', 'k'.repeat(64), quiet);
    for (let i = 0; i < 2; i++) {
      const tree = await fetchOrigin(build, 'xen', { kind: 'git', ref }, quiet);
      expect(readFileSync(join(tree, 'README'), 'utf8')).toBe('tree\n');
    }
    const transcript = readFileSync(join(build.logs, 'fetch.log'), 'utf8');
    expect(transcript.match(/\$ git fetch --depth 1/g)).toHaveLength(2);
  });

  it('reads a patch by content: the key sees the bytes, not the name', async () => {
    const one = join(scratch, 'one.patch');
    const two = join(scratch, 'two.patch');
    writeFileSync(one, 'same\n');
    writeFileSync(two, 'same\n');
    expect((await readPatch(one, 'user')).sha256).toBe((await readPatch(two, 'user')).sha256);
  });

  it('asks a recipe that may reuse another build at its turn, and fetches its tree only when it cannot', async () => {
    const { cacheDir, toolchain } = cacheWithToolchain(scratch);
    const events: string[] = [];
    const reusing = (name: string, answer: boolean): ComponentRecipe => ({
      ...recipe(name, events),
      reuse: async ({ out }) => {
        events.push(`reuse ${name}: ${answer ? 'yes' : 'no'}`);
        if (!answer) return undefined;
        writeFileSync(join(out, 'result'), 'from before\n');
        return { files: { result: 'result' }, features: {}, built: `${name} reused` };
      },
    });
    const made = await ensureComponents(cacheDir, { a: recipe('alpha', events), b: reusing('beta', true), c: reusing('gamma', false) }, toolchain, () => {});
    expect(events).toEqual(['fetch alpha', 'make alpha', 'reuse beta: yes', 'reuse gamma: no', 'fetch gamma', 'make gamma']);
    expect(readFileSync(join(made.b.dir, 'result'), 'utf8')).toBe('from before\n');
    expect(made.b.record.built).toBe('beta reused');
    expect(workEntries(cacheDir)).toEqual([]);
  });
});
