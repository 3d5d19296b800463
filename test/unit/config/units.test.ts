import { describe, expect, it } from 'vitest';
import { formatDuration, MAX_DURATION_MS, parseAddress, parseDuration, parseSizeMiB, readDuration } from '../../../src/config/index.js';

describe('units', () => {
  it('parses durations to milliseconds and refuses what is not one', () => {
    expect(parseDuration('300s')).toBe(300_000);
    expect(parseDuration('5m')).toBe(300_000);
    expect(parseDuration('1.5h')).toBe(5_400_000);
    expect(parseDuration('250ms')).toBe(250);
    for (const bad of ['300', 'banana', '5 m', '-5s', '0s', '5d']) expect(parseDuration(bad), bad).toBeUndefined();
  });

  it("says why a duration is no deadline: zero, or past Node's timer range", () => {
    expect(readDuration('0s')).toEqual({ problem: 'expected a duration above 0' });
    expect(readDuration('0.4ms')).toEqual({ problem: 'expected a duration above 0' });
    expect(readDuration(`${MAX_DURATION_MS}ms`)).toEqual({ ms: 2 ** 31 - 1 });
    expect(readDuration(`${MAX_DURATION_MS + 1}ms`)).toEqual({ problem: "expected at most 2147483647ms (about 596h, the longest Node's timers can wait)" });
    expect(readDuration('9999999999999999999999h')).toMatchObject({ problem: expect.stringMatching(/^expected at most/) });
    expect(readDuration('soon')).toBeUndefined();
    expect(parseDuration('600h')).toBeUndefined();
  });

  it('parses sizes to MiB', () => {
    expect(parseSizeMiB('1024M')).toBe(1024);
    expect(parseSizeMiB('1G')).toBe(1024);
    expect(parseSizeMiB('512MiB')).toBe(512);
    expect(parseSizeMiB('2048K')).toBe(2);
    for (const bad of ['1000', '1.5G', '100K', 'big', '0M']) expect(parseSizeMiB(bad), bad).toBeUndefined();
  });

  it('parses addresses as exact bigints', () => {
    expect(parseAddress('0xf100000000')).toBe(0xf100000000n);
    expect(parseAddress('0xFFFFFFFFFFFFF001')).toBe(0xfffffffffffff001n);
    for (const bad of ['4096', '0x', 'f1000', '0xg1']) expect(parseAddress(bad), bad).toBeUndefined();
  });

  it('formats durations for people', () => {
    expect(formatDuration(420)).toBe('420ms');
    expect(formatDuration(17_240)).toBe('17.2s');
    expect(formatDuration(61_500)).toBe('1m2s');
  });
});
