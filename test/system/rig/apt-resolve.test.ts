// The private apt's answers are kept: a warm run asks apt the same three questions before it
// knows its rig's key, most of a second each. The same question on the same lists is
// answered from the kept answer; new lists (an update) are asked afresh.
import { mkdtempSync, readdirSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { debianRecipe } from '../../../src/rig/debian/build.js';
import { PrivateApt } from '../../../src/rig/debian/apt.js';

describe("the private apt's resolve()", () => {
  it('answers a question again from the kept answer, until the lists change', { timeout: 5 * 60_000 }, async () => {
    const apt = new PrivateApt(mkdtempSync(join(tmpdir(), 'xpv-apt-')), debianRecipe().source);
    await apt.ensureLists(60_000, () => undefined);
    const first = await apt.resolve(['libc6']);
    expect(first.map((p) => p.name)).toContain('libc6');
    const kept = readdirSync(join(apt.root, 'resolved'));
    expect(kept).toHaveLength(1);
    // An answer apt would never give: if it comes back, the kept answer was used.
    const planted = [{ name: 'libc6', version: '0-planted', arch: 'arm64' }];
    writeFileSync(join(apt.root, 'resolved', kept[0]!), JSON.stringify(planted));
    expect(await apt.resolve(['libc6'])).toEqual(planted);
    // Another question is another answer.
    expect((await apt.resolve(['zlib1g'])).map((p) => p.name)).toContain('zlib1g');
    // A list that changed (as an update changes them) makes apt answer again.
    const lists = join(apt.root, 'lists');
    const packages = readdirSync(lists).find((f) => f.endsWith('_Packages'))!;
    const later = new Date(Date.now() + 60_000);
    utimesSync(join(lists, packages), later, later);
    expect(await apt.resolve(['libc6'])).toEqual(first);
    // A kept answer that is not one is asked again, never believed.
    for (const f of readdirSync(join(apt.root, 'resolved'))) writeFileSync(join(apt.root, 'resolved', f), '{"not": "an answer"}');
    expect(await apt.resolve(['libc6'])).toEqual(first);
  });
});
