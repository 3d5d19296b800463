// The repository stands alone: a comment that explains code by pointing at notes kept
// elsewhere ("pitfall 3", a design folder beside the checkout) leaves a maintainer who has
// only this repository with nothing. Facts live in the code's comments or in docs/.
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '../../..');
const THIS = relative(ROOT, import.meta.filename);
// Spelled in pieces so that this file does not match itself.
const OUTSIDE = new RegExp(['RIG' + '-NOTES', 'pitfall' + ' \\d', '\\.\\./' + 'shared/'].join('|'), 'i');

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    if (e.isDirectory()) return e.name === 'fixtures' ? [] : files(p);
    // Scripts such as .ci/run and scripts/clean-room have no extension.
    return /\.(ts|mjs|md|yml|yaml|sh)$/.test(e.name) || !e.name.includes('.') ? [p] : [];
  });
}

describe('the repository', () => {
  it('has no comment or document that points outside it', () => {
    const places = ['src', 'test', 'scripts', 'docs', 'scenarios', 'workflows', '.ci'].flatMap((d) => files(join(ROOT, d)));
    places.push(join(ROOT, 'README.md'), join(ROOT, 'action.yml'));
    expect(places.length).toBeGreaterThan(150);
    const hits = places
      .filter((p) => relative(ROOT, p) !== THIS)
      .flatMap((p) =>
        readFileSync(p, 'utf8')
          .split('\n')
          .flatMap((line, i) => (OUTSIDE.test(line) ? [`${relative(ROOT, p)}:${i + 1}: ${line.trim()}`] : [])),
      );
    expect(hits).toEqual([]);
  });
});
