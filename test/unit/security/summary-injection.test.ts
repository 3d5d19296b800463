// Finding 6: the job summary quotes scenario files, a bundle's manifest and guest output; none
// of it may become a link, an image, a tag or a way out of the Mermaid block.
import { describe, expect, it } from 'vitest';
import { buildSummary } from '../../../src/report/index.js';
import type { RunResult } from '../../../src/scenario/result.js';

const HOSTILE = '<img src=x onerror=alert(1)> [click](https://evil.example/) ![t](https://evil.example/p.png) **bold** `code` $x$ @team &amp; ~~s~~';
const FENCE = '```\n<script>alert(1)</script>\n```mermaid';

const base = { startedAt: new Date(), file: 'x.yaml' };
const result: RunResult = {
  scenarios: [
    { ...base, name: HOSTILE, status: 'failed', durationMs: 1, steps: [{ title: HOSTILE, kind: 'console', status: 'failed', durationMs: 1, message: `${HOSTILE}\n${FENCE}` }] },
    { ...base, name: 'fine', status: 'skipped', skipReason: HOSTILE, durationMs: 0, steps: [] },
  ],
  rig: { key: '``` <b>k</b>', provider: '` <i>p</i>', versions: { xen: HOSTILE, linux: FENCE }, cacheHit: true },
  phases: [{ name: HOSTILE, atMs: 1 }],
  timeline: [{ section: FENCE, name: `${FENCE}:crit, done, 0, 1`, startMs: 0, endMs: 10 }],
  properties: {},
  fatal: { status: 'error', message: HOSTILE },
} as RunResult;

describe('the job summary with hostile text in every field', () => {
  const md = buildSummary(result, { junitPath: '/w/`j`.xml', logsDir: '/w/<logs>' });
  const lines = md.split('\n');
  const open = lines.indexOf('```mermaid');
  const close = lines.indexOf('```', open + 1);

  it('has exactly one fenced block, the chart, and nothing in it can end it or hold syntax', () => {
    expect(lines.filter((l) => l.startsWith('```'))).toEqual(['```mermaid', '```']);
    for (const l of lines.slice(open + 1, close)) expect(l).not.toMatch(/[<>`[\]#;]|%%/);
  });

  it('holds no unescaped markup outside code spans', () => {
    const prose = [...lines.slice(0, open), ...lines.slice(close + 1)]
      .map((l) => l.replace(/(`+)(?!`)[\s\S]*?(?<!`)\1(?!`)/g, ''))
      // Our own markup: the counts line, the fatal line's blockquote and heading.
      .map((l) => l.replace(/^\*\*(\d+ passed.*skipped)\*\*$/, '$1').replace(/^> \*\*Infrastructure error:\*\*/, ''))
      .join('\n');
    expect(prose).toContain('click');
    for (const ch of ['<', '>', '[', ']', '*', '`', '$', '@', '&', '~']) {
      const raw = [...prose.matchAll(new RegExp(`(?<!\\\\)\\${ch}`, 'g'))].map((m) => prose.slice(Math.max(0, m.index - 20), m.index + 20));
      expect(raw, ch).toEqual([]);
    }
    expect(prose).not.toMatch(/(?<!\\):\/\/evil/);
  });

  it('keeps outside text in code spans whole, whatever backticks it holds', () => {
    expect(md).toContain('Rig: `` ` <i>p</i> `` ');
    expect(md).toContain('(key ```` ``` <b>k</b> ````, from cache)');
    expect(md).toContain('JUnit: ``/w/`j`.xml`` · logs: `/w/<logs>`');
  });
});
