// The cache's budget on a real folder tree: real du sizes, stamps, renames and removals.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { listEntries, markUsed, pruneCache } from '../../../src/cache/index.js';

const MiB = 1024 * 1024;
const root = resolve(__dirname, '../../..');

/** An entry of `mib` MiB whose last use was `daysAgo` days ago. */
function entry(cache: string, name: string, mib: number, daysAgo: number): string {
  const dir = join(cache, name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'blob'), Buffer.alloc(mib * MiB));
  markUsed(cache, dir);
  const when = new Date(Date.now() - daysAgo * 86_400_000);
  utimesSync(join(cache, '.use', name.split('/').join('%2F')), when, when);
  utimesSync(dir, when, when);
  return dir;
}

describe('the cache budget', () => {
  it('prunes the least recently used entries back under the budget, keeping the ones in use', async () => {
    const cache = mkdtempSync(join(tmpdir(), 'xpv-budget-'));
    entry(cache, 'rigs/old', 4, 30);
    entry(cache, 'components/qemu/k1', 4, 20);
    entry(cache, 'sources/xen_4.17', 4, 10);
    entry(cache, 'toolchains/t1', 4, 5);
    entry(cache, 'states/s1', 4, 2);
    // Used by the run now ending, although it is the oldest on disk otherwise.
    const inUse = entry(cache, 'rigs/current', 4, 40);
    const runStart = new Date();
    markUsed(cache, inUse);

    const listed = await listEntries(cache);
    // Least recently used first; the run's own entry, used just now, last.
    expect(listed.map((e) => e.name)).toEqual(['rigs/old', 'components/qemu/k1', 'sources/xen_4.17', 'toolchains/t1', 'states/s1', 'rigs/current']);
    for (const e of listed) expect(e.bytes).toBeGreaterThanOrEqual(4 * MiB);

    const lines: string[] = [];
    const r = await pruneCache(cache, 13 * MiB, { keepUsedSince: runStart, log: (l) => lines.push(l) });
    expect(r.removed.map((e) => e.name)).toEqual(['rigs/old', 'components/qemu/k1', 'sources/xen_4.17']);
    expect(r.after).toBeLessThanOrEqual(13 * MiB);
    expect(r.before - r.after).toBeGreaterThanOrEqual(12 * MiB);
    for (const gone of ['rigs/old', 'components/qemu/k1', 'sources/xen_4.17']) {
      expect(existsSync(join(cache, gone))).toBe(false);
      expect(existsSync(join(cache, '.use', gone.split('/').join('%2F')))).toBe(false);
    }
    for (const kept of ['rigs/current', 'toolchains/t1', 'states/s1']) expect(existsSync(join(cache, kept))).toBe(true);
    expect(lines[0]).toMatch(/^cache: removed rigs\/old \(assembled rig, 4\.\d MiB, last used /);

    // Over budget with only the run's own entry left: it stays.
    const tight = await pruneCache(cache, 1 * MiB, { keepUsedSince: runStart });
    expect(tight.kept.map((e) => e.name)).toEqual(['rigs/current']);
    expect(existsSync(inUse)).toBe(true);
  });

  it('keeps an incremental build tree a live build holds, and prunes one nobody holds', async () => {
    const cache = mkdtempSync(join(tmpdir(), 'xpv-budget-'));
    const held = entry(cache, 'trees/source-xen', 4, 30);
    entry(cache, 'trees/other', 4, 20);
    const holder = spawn('sleep', ['30']);
    try {
      writeFileSync(join(held, 'lock'), `${holder.pid}\n`);
      const r = await pruneCache(cache, 1 * MiB);
      expect(r.kept.map((e) => e.name)).toEqual(['trees/source-xen']);
      expect(r.removed.map((e) => [e.name, e.what])).toEqual([['trees/other', 'incremental build tree']]);
      expect(existsSync(held)).toBe(true);
    } finally {
      holder.kill('SIGKILL');
    }
  });

  it('keeps the clone a live bisection has checkouts in, and prunes an idle one', async () => {
    const cache = mkdtempSync(join(tmpdir(), 'xpv-budget-'));
    const busy = entry(cache, 'bisect/aaaa', 4, 30);
    const idle = entry(cache, 'bisect/bbbb', 4, 20);
    mkdirSync(join(busy, 'checkouts', `${process.pid}-0001`), { recursive: true });
    mkdirSync(join(idle, 'checkouts'), { recursive: true });
    const r = await pruneCache(cache, 1 * MiB);
    expect(r.kept.map((e) => e.name)).toEqual(['bisect/aaaa']);
    expect(r.removed.map((e) => [e.name, e.what])).toEqual([['bisect/bbbb', 'bisection clone']]);
  });

  it('never lists or prunes entries of a folder linked in from another cache', async () => {
    const shared = mkdtempSync(join(tmpdir(), 'xpv-shared-'));
    entry(shared, 'rigs/shared', 2, 30);
    const view = mkdtempSync(join(tmpdir(), 'xpv-view-'));
    symlinkSync(join(shared, 'rigs'), join(view, 'rigs'));
    expect(await listEntries(view)).toEqual([]);
    await pruneCache(view, 1);
    expect(existsSync(join(shared, 'rigs/shared'))).toBe(true);
  });

  it('is listed and pruned by the CLI', () => {
    const cache = mkdtempSync(join(tmpdir(), 'xpv-budget-cli-'));
    entry(cache, 'rigs/a', 3, 9);
    entry(cache, 'states/b', 3, 1);
    const cli = (args: string[]) => spawnSync(process.execPath, [join(root, 'dist/cli.js'), ...args, '--cache-dir', cache], { cwd: root, encoding: 'utf8' });
    const list = cli(['cache']);
    expect(list.status, list.stderr).toBe(0);
    expect(list.stdout).toMatch(/^ +3\.0 MiB {2}\d{4}-\d\d-\d\d \d\d:\d\d {2}states\/b {2}\(saved booted system\)\n +3\.0 MiB {2}[^\n]+rigs\/a {2}\(assembled rig\)\n +6\.0 MiB {2}in all, 2 entries in .*; budget 10\.0 GiB \(cache-max-size\)\n$/);
    const prune = cli(['cache', 'prune', '--cache-max-size', '4M']);
    expect(prune.status, prune.stderr).toBe(0);
    expect(prune.stderr).toMatch(/cache: removed rigs\/a \(assembled rig, 3\.0 MiB, last used /);
    expect(prune.stderr).toMatch(/cache: 6\.0 MiB → 3\.0 MiB \(budget 4\.0 MiB\), 1 entries removed\n$/);
    expect(cli(['cache', 'prune', '--cache-max-size', '0']).stderr).toBe('error: cache prune needs a budget: --cache-max-size 0 means no limit\n');
  });
});

