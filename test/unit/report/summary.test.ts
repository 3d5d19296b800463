import { describe, expect, it } from 'vitest';
import { buildSummary } from '../../../src/report/index.js';
import { timelineChart } from '../../../src/report/summary.js';
import type { RunResult } from '../../../src/scenario/result.js';

const base = { startedAt: new Date(), file: 'scenarios/x.yaml' };

describe('job summary', () => {
  const result: RunResult = {
    scenarios: [
      { ...base, name: 'boot-smoke', status: 'passed', durationMs: 42_000, steps: [{ title: 'a', kind: 'wait', status: 'passed', durationMs: 1 }] },
      {
        ...base,
        name: 'virtio-pci-rescan-ping',
        status: 'failed',
        durationMs: 61_500,
        steps: [
          { title: 'wait for shell on domU1', kind: 'wait', status: 'passed', durationMs: 1 },
          { title: 'domU1: lspci -v', kind: 'console', status: 'failed', durationMs: 1, message: 'expected | Virtio\nnetwork' },
        ],
      },
      { ...base, name: 'grants', status: 'skipped', skipReason: 'the debian rig lacks virtio-grants', durationMs: 0, steps: [] },
    ],
    rig: { key: '0123456789abcdef0123', provider: 'debian', versions: { xen: '4.17.5', linux: '6.1.0' }, cacheHit: false },
    phases: [{ name: 'dom0 shell', atMs: 17_200 }],
    timeline: [
      { section: 'rig', name: 'rig (cached)', startMs: 0, endMs: 2_500 },
      { section: 'system', name: 'boot 1', startMs: 2_600, endMs: 19_000 },
      { section: 'system', name: 'save', startMs: 19_000, endMs: 21_400 },
      { section: 'scenarios', name: 'boot-smoke', startMs: 21_400, endMs: 63_400 },
      { section: 'system', name: 'restore 2', startMs: 63_500, endMs: 63_500 },
    ],
    properties: {},
  };
  const md = buildSummary(result, { junitPath: '/w/junit.xml', logsDir: '/w/logs' });

  it('counts and tabulates the scenarios with status, duration and the first problem', () => {
    expect(md).toContain('**1 passed, 1 failed, 0 errored, 1 skipped**');
    expect(md).toContain('| boot-smoke | ✅ passed | 42.0s | 1/1 |  |');
    expect(md).toContain('| virtio-pci-rescan-ping | ❌ failed | 1m2s | 1/2 | domU1: lspci -v: expected \\| Virtio network |');
    expect(md).toContain('| grants | ⏭️ skipped | 0ms | 0/0 | the debian rig lacks virtio-grants |');
  });

  it('names the rig, the phases and where the reports are', () => {
    expect(md).toContain('Rig: `debian` xen 4.17.5, linux 6.1.0 (key `0123456789abcdef`, built)');
    expect(md).toContain('| dom0 shell | 17.2s |');
    expect(md).toContain('JUnit: `/w/junit.xml` · logs: `/w/logs`');
  });

  it('draws the timeline as a Mermaid gantt: sections in order, bars as wall-clock times from midnight of a fixed day', () => {
    const chart = md.slice(md.indexOf('```mermaid'), md.indexOf('```', md.indexOf('```mermaid') + 3) + 3);
    expect(chart.split('\n')).toEqual([
      '```mermaid',
      'gantt',
      '  title Where the run spent its time',
      '  dateFormat YYYY-MM-DD HH:mm:ss.SSS',
      '  axisFormat %M:%S',
      '  todayMarker off',
      '  section rig',
      '  rig (cached) (2.5s) : 2001-01-01 00:00:00.000, 2001-01-01 00:00:02.500',
      '  section system',
      '  boot 1 (16.4s) : 2001-01-01 00:00:02.600, 2001-01-01 00:00:19.000',
      '  save (2.4s) : 2001-01-01 00:00:19.000, 2001-01-01 00:00:21.400',
      '  section scenarios',
      '  boot-smoke (42.0s) : 2001-01-01 00:00:21.400, 2001-01-01 00:01:03.400',
      '  section system',
      // A zero-length bar gets a sliver of the chart (1/300 of it, at least 100 ms) so it still shows.
      '  restore 2 (0ms) : 2001-01-01 00:01:03.500, 2001-01-01 00:01:03.712',
      '```',
    ]);
    validGantt(chart.split('\n'));
  });

  it('labels the axis by the run: minutes and seconds for a 30-second run', () => {
    const chart = timelineChart([
      { section: 'system', name: 'boot 1', startMs: 0, endMs: 12_000 },
      { section: 'scenarios', name: 'boot-smoke', startMs: 12_000, endMs: 30_000 },
    ]);
    validGantt(chart);
    expect(chart.slice(3, 5)).toEqual(['  dateFormat YYYY-MM-DD HH:mm:ss.SSS', '  axisFormat %M:%S']);
    expect(chart).toContain('  boot-smoke (18.0s) : 2001-01-01 00:00:12.000, 2001-01-01 00:00:30.000');
  });

  it('labels the axis by the run: hours past the first, which %M:%S would wrap at 60 minutes', () => {
    const chart = timelineChart([
      { section: 'system', name: 'boot 1', startMs: 0, endMs: 17_250 },
      { section: 'scenarios', name: 'soak', startMs: 17_250, endMs: 9_000_000 },
      { section: 'system', name: 'restore 2', startMs: 9_000_000, endMs: 9_000_000 },
    ]);
    validGantt(chart);
    expect(chart.slice(3, 5)).toEqual(['  dateFormat YYYY-MM-DD HH:mm:ss.SSS', '  axisFormat %H:%M']);
    expect(chart).toContain('  soak (149m43s) : 2001-01-01 00:00:17.250, 2001-01-01 02:30:00.000');
    // 9 000 000 / 300 = 30 s: a bar one can see on an axis of two and a half hours.
    expect(chart).toContain('  restore 2 (0ms) : 2001-01-01 02:30:00.000, 2001-01-01 02:30:30.000');
    // Past a day, the day counts too (1 for the first).
    expect(timelineChart([{ section: 's', name: 'long', startMs: 0, endMs: 30 * 3_600_000 }])[4]).toBe('  axisFormat day %-e %H:%M');
  });

  it('keeps sub-second stretches to the millisecond, and gives a zero-length one a bar', () => {
    const chart = timelineChart([
      { section: 'system', name: 'save', startMs: 0, endMs: 250.4 },
      { section: 'system', name: 'restore 1', startMs: 250.6, endMs: 250.6 },
      { section: 'scenarios', name: 'quick', startMs: 400, endMs: 1_450 },
    ]);
    validGantt(chart);
    expect(chart.slice(4, 12)).toEqual([
      // Under ten seconds the axis shows milliseconds, or its ticks would repeat a second.
      '  axisFormat %M:%S.%L',
      '  todayMarker off',
      '  section system',
      '  save (250ms) : 2001-01-01 00:00:00.000, 2001-01-01 00:00:00.250',
      '  restore 1 (0ms) : 2001-01-01 00:00:00.251, 2001-01-01 00:00:00.351',
      '  section scenarios',
      '  quick (1.1s) : 2001-01-01 00:00:00.400, 2001-01-01 00:00:01.450',
      '```',
    ]);
  });

  it("draws on a day when no time zone changes its clocks, so that every viewer's axis shows elapsed time", () => {
    // Mermaid reads the times in the viewer's zone; on a day with a clock change in the small
    // hours an hour of the axis would be missing or twice. Node's tz data stands in for browsers'.
    const task = timelineChart([{ section: 's', name: 'a', startMs: 0, endMs: 1 }]).find((l) => l.includes(' : '))!;
    const day = Date.parse(`${task.split(' : ')[1]!.slice(0, 10)}T00:00:00Z`);
    const changed: string[] = [];
    for (const timeZone of Intl.supportedValuesOf('timeZone')) {
      const offset = new Intl.DateTimeFormat('en-US', { timeZone, timeZoneName: 'longOffset' });
      const at = (t: number) => offset.formatToParts(t).find((p) => p.type === 'timeZoneName')!.value;
      const before = at(day - 86_400_000);
      // Hourly from the day before to three days after (a zone's midnight is up to 14 h off UTC's).
      for (let t = day - 86_400_000; t <= day + 3 * 86_400_000; t += 3_600_000) {
        if (at(t) !== before) {
          changed.push(timeZone);
          break;
        }
      }
    }
    expect(changed).toEqual([]);
  });

  it('says which scenarios ran on a restored system', () => {
    const restored = buildSummary({ ...result, scenarios: [{ ...result.scenarios[0]!, system: 'restored' }] }, { junitPath: 'j', logsDir: 'l' });
    expect(restored).toContain('| boot-smoke | ✅ passed | 42.0s (restored system) | 1/1 |  |');
  });

  it('leads with an infrastructure error that ended the run', () => {
    const fatal = buildSummary({ ...result, fatal: { status: 'error', message: 'rig debian: apt-get failed' } }, { junitPath: 'j', logsDir: 'l' });
    expect(fatal).toContain('> **Infrastructure error:** rig debian: apt-get failed');
  });

  it('says which scenario was retried and why', () => {
    const retried: RunResult = {
      ...result,
      scenarios: [{ ...result.scenarios[0]!, retriedAfter: { status: 'error', step: 'wait for shell on dom0', message: 'no Xen banner | within 120 s', durationMs: 5000 } }],
    };
    expect(buildSummary(retried, { junitPath: 'j', logsDir: 'l' })).toContain(
      '↻ **boot-smoke** was retried once on a fresh boot: attempt 1 ended in error at "wait for shell on dom0": no Xen banner \\| within 120 s',
    );
  });
});

// The Day.js tokens Mermaid's gantt documents for `dateFormat` (its parse is strict), and the
// d3-time-format directives `axisFormat` passes on.
const DAYJS_TOKENS = new Set(['YYYY', 'YY', 'Q', 'M', 'MM', 'MMM', 'MMMM', 'D', 'DD', 'Do', 'DDD', 'DDDD', 'X', 'x', 'H', 'HH', 'h', 'hh', 'a', 'A', 'm', 'mm', 's', 'ss', 'S', 'SS', 'SSS', 'Z', 'ZZ']);
const AS_DIGITS: Record<string, string> = { YYYY: '\\d{4}', MM: '\\d{2}', DD: '\\d{2}', HH: '\\d{2}', mm: '\\d{2}', ss: '\\d{2}', SSS: '\\d{3}' };

/**
 * A gantt block as Mermaid's grammar reads it: the statements this chart uses, a dateFormat of
 * documented tokens, axis directives d3 knows, and tasks `name : start, end` whose times have
 * exactly the shape of the dateFormat and end after they start.
 */
function validGantt(lines: readonly string[]): void {
  expect(lines[0]).toBe('```mermaid');
  expect(lines[1]).toBe('gantt');
  expect(lines.at(-1)).toBe('```');
  const format = lines.find((l) => l.startsWith('  dateFormat '))!.slice('  dateFormat '.length);
  const tokens = format.split(/[^A-Za-z]+/).filter(Boolean);
  for (const t of tokens) expect(DAYJS_TOKENS, t).toContain(t);
  const axis = lines.find((l) => l.startsWith('  axisFormat '))!.slice('  axisFormat '.length);
  expect(axis).toMatch(/^([^%#;]|%[-_0]?[aAbBcdefgHIjLmMpQsSuUVwWxXyYZ%])+$/);
  const time = new RegExp(`^${format.replace(/[A-Za-z]+/g, (t) => AS_DIGITS[t] ?? t).replace(/\./g, '\\.')}$`);
  const parse = (text: string) => Date.parse(`${text.replace(' ', 'T')}Z`);
  for (const line of lines.slice(2, -1)) {
    if (/^ {2}(title|dateFormat|axisFormat|todayMarker|section) /.test(line)) continue;
    const m = /^ {2}([^:#;\n]+) : ([^,#;]+), ([^,#;]+)$/.exec(line);
    expect(m, line).not.toBeNull();
    expect(m![2], line).toMatch(time);
    expect(m![3], line).toMatch(time);
    expect(parse(m![3]!), line).toBeGreaterThan(parse(m![2]!));
  }
}
