// dist/ carries third-party code; its licences must travel with it. Every package whose
// modules are in the bundle (esbuild names each module's path in a comment) has its entry,
// with its licence text, in dist/THIRD_PARTY_LICENSES.txt, which the bundle step writes.
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const DIST = resolve(import.meta.dirname, '../../../dist');

function bundleFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? bundleFiles(join(dir, e.name)) : e.name.endsWith('.js') ? [join(dir, e.name)] : []));
}

describe('dist/THIRD_PARTY_LICENSES.txt', () => {
  const notices = readFileSync(join(DIST, 'THIRD_PARTY_LICENSES.txt'), 'utf8');
  // A package is listed by its name, and an npm alias also by the folder it is installed as.
  const listed = new Set([...notices.matchAll(/^(\S+) \S+ — licence: .+?(?: — installed as (\S+))?$/gm)].flatMap((m) => [m[1]!, ...(m[2] ? [m[2]] : [])]));

  it('names every package the bundle holds', () => {
    const bundled = new Set<string>();
    for (const file of bundleFiles(DIST)) {
      for (const m of readFileSync(file, 'utf8').matchAll(/^\/\/ (?:.*\/)?node_modules\/((?:@[^/\s]+\/)?[^/\s]+)\//gm)) bundled.add(m[1]!);
    }
    expect(bundled.size).toBeGreaterThan(50);
    expect([...bundled].filter((p) => !listed.has(p))).toEqual([]);
  });

  it('holds the licence texts, not only their names', () => {
    for (const name of ['ssh2', 'yaml', 'zod', '@actions/core', 'junit-report-builder']) expect(listed.has(name), name).toBe(true);
    const ssh2 = notices.slice(notices.search(/^ssh2 /m));
    expect(ssh2.slice(0, 2000)).toMatch(/Permission is hereby granted, free of charge/);
  });
});
