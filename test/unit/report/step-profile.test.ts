// A step's profile (where its time went) is kept in result.json, where the benchmark reads
// it, and nowhere else: not in JUnit. Read back, it is a fixed set of bounded numbers.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { buildJunit, parseResultFile, writeResultFile } from '../../../src/report/index.js';
import type { RunResult, StepProfile } from '../../../src/scenario/result.js';
import { lastShellAt } from '../../../src/system/system.js';

const work = mkdtempSync(join(tmpdir(), 'xpv-profile-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const consoleProfile: StepProfile = { turnMs: 0.1, focusSwitches: 1, focusMs: 21.4, typedBytes: 56, echoWaits: 4, typingMs: 38.2, guestMs: 151.7 };
const sshProfile: StepProfile = { connectMs: 0, roundTrips: 2, openMs: 12.5, guestMs: 402.3, exitStatusMs: 0.6 };

function run(profile: unknown = consoleProfile): RunResult {
  return {
    scenarios: [
      {
        name: 'seed',
        file: 'scenarios/seed.yaml',
        status: 'passed',
        startedAt: new Date('2026-11-26T10:00:00Z'),
        durationMs: 700,
        steps: [
          { title: 'domU1: lspci', kind: 'console', status: 'passed', durationMs: 214, profile: profile as StepProfile },
          { title: 'ssh dom0: xl list', kind: 'ssh', status: 'passed', durationMs: 420, profile: sshProfile },
          { title: 'backend', kind: 'backend', status: 'passed', durationMs: 66 },
        ],
      },
    ],
    phases: [{ name: 'settled', atMs: 9_000 }],
    timeline: [],
    properties: { boot: 'uboot' },
  };
}

describe("a step's profile", () => {
  it('is written to result.json and read back as it was', () => {
    const file = writeResultFile(join(work, 'ok'), run());
    const back = parseResultFile(readFileSync(file, 'utf8'), 'result.json').result;
    expect(back.scenarios[0]!.steps.map((s) => s.profile)).toEqual([consoleProfile, sshProfile, undefined]);
  });

  it('is not in the JUnit report', () => {
    const xml = buildJunit(run());
    for (const word of ['typedBytes', 'guestMs', 'profile', 'echoWaits']) expect(xml).not.toContain(word);
  });

  it('is refused when it is not a set of bounded numbers, and loses keys it does not know', () => {
    for (const [bad, at] of [
      [{ guestMs: -1 }, 'profile.guestMs'],
      [{ typedBytes: '56' }, 'profile.typedBytes'],
      [{ typingMs: 1e13 }, 'profile.typingMs'],
    ] as const) {
      const file = writeResultFile(join(work, 'bad'), run(bad));
      expect(() => parseResultFile(readFileSync(file, 'utf8'), 'result.json')).toThrow(new RegExp(`result\\.json: not a run result this harness wrote: result\\.scenarios\\.0\\.steps\\.0\\.${at.replace('.', '\\.')}`));
    }
    const file = writeResultFile(join(work, 'extra'), run({ guestMs: 1, huge: 'x'.repeat(1000) }));
    expect(parseResultFile(readFileSync(file, 'utf8'), 'result.json').result.scenarios[0]!.steps[0]!.profile).toEqual({ guestMs: 1 });
  });
});

describe('settled without a gate', () => {
  it('is when the last shell showed, once every domain has shown one', () => {
    const shells = new Map([
      ['dom0', 1_000],
      ['domU1', 3_000],
    ]);
    expect(lastShellAt(['dom0', 'domU1'], shells)).toBe(3_000);
    expect(lastShellAt(['dom0', 'domU1', 'domU2'], shells)).toBeUndefined();
    expect(lastShellAt(['dom0'], shells)).toBe(1_000);
    expect(lastShellAt([], shells)).toBeUndefined();
  });
});
