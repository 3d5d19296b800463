// git bisect as the driver uses it, on a real worktree: what git prints is understood (the
// next commit, the first bad commit, only skipped commits left), and reset leaves no state.
import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { markCommit, parseBisectOutput, resetBisect, startBisect } from '../../../src/bisect/session.js';
import { git, series, verdicts } from './series.js';

function worktreeOf(dir: string): string {
  const wt = join(mkdtempSync(join(tmpdir(), 'xpv-bisect-wt-')), 'wt');
  git(dir, 'worktree', 'add', '-q', '--detach', wt, 'main');
  return wt;
}

const bisecting = (wt: string) => {
  try {
    execFileSync('git', ['-C', wt, 'bisect', 'log'], { stdio: 'pipe' });
    return true;
  } catch {
    return false;
  }
};

describe('git bisect in a worktree', () => {
  it('walks to the first bad commit, and reset ends the bisect state', async () => {
    const s = series(7, verdicts(5));
    const wt = worktreeOf(s.dir);
    let state = await startBisect(wt, s.ids[7]!, s.ids[0]!);
    expect(state).toMatchObject({ kind: 'test', left: expect.any(Number), steps: expect.any(Number) });
    expect(bisecting(wt)).toBe(true);
    while (state.kind === 'test') {
      const i = s.ids.indexOf(state.commit);
      expect(git(wt, 'rev-parse', 'HEAD')).toBe(state.commit);
      state = await markCommit(wt, i >= 5 ? 'bad' : 'good');
    }
    expect(state).toEqual({ kind: 'found', commit: s.ids[5] });
    await resetBisect(wt);
    expect(bisecting(wt)).toBe(false);
    // The user's own checkout never took part.
    expect(bisecting(s.dir)).toBe(false);
  });

  it('a bad commit right after the good one is found at start', async () => {
    const s = series(1, verdicts(1));
    const wt = worktreeOf(s.dir);
    expect(await startBisect(wt, s.ids[1]!, s.ids[0]!)).toEqual({ kind: 'found', commit: s.ids[1] });
    await resetBisect(wt);
  });

  it('reads the list of candidates when only skipped commits are left', () => {
    const text = [
      "There are only 'skip'ped commits left to test.",
      'The first bad commit could be any of:',
      '637bf1235faefc8374a0f06a0f82b8a5a0edcb95',
      'a0b39bde11fe6e7b0abff990a518bdf1144c6560',
      'We cannot bisect more!',
    ].join('\n');
    expect(parseBisectOutput(text, 'x')).toEqual({ kind: 'only-skipped', candidates: ['637bf1235faefc8374a0f06a0f82b8a5a0edcb95', 'a0b39bde11fe6e7b0abff990a518bdf1144c6560'] });
    expect(parseBisectOutput('Bisecting: 1 revision left to test after this (roughly 1 step)\n[abc] x', 'head')).toEqual({ kind: 'test', commit: 'head', left: 1, steps: 1 });
    expect(parseBisectOutput('fatal: something else', 'head')).toBeUndefined();
  });
});
