// git as the bisect drives it: an argument array, never a shell, in the C locale (its messages
// are parsed), and never waiting on a prompt for credentials nobody is there to type.
import { run, type ExecResult } from '../host/exec.js';
import { GIT_ENV } from '../rig/build/git.js';

const ENV = { ...GIT_ENV, LANGUAGE: 'C' };

/** Runs `git -C dir …`; a non-zero exit is returned, not thrown, unless `check` is set. */
export function git(dir: string, args: readonly string[], opts: { check?: boolean } = {}): Promise<ExecResult> {
  return run('git', ['-C', dir, ...args], { env: ENV, allowFailure: !opts.check });
}

/** The last thing git said, for an error message. */
export function gitSaid(r: ExecResult): string {
  return (r.stderr.trim() || r.stdout.trim()).split('\n').slice(-3).join('\n');
}

export const FULL_ID = /^[0-9a-f]{40}([0-9a-f]{24})?$/;
