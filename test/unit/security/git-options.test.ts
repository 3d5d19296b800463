// Finding 7: a repository input that looks like an option must stay a repository.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { qemuCloneArgv } from '../../../src/rig/yocto/index.js';

describe("the yocto provider's QEMU clone", () => {
  it('never lets qemu-repo become a git option that runs a command', () => {
    const dir = mkdtempSync(join(tmpdir(), 'xpv-git-opt-'));
    const marker = join(dir, 'pwned');
    // A real repository where the destination goes: were the input read as an option, git would
    // take the destination for the repository and run the "upload pack" command against it.
    const dest = join(dir, 'src');
    expect(spawnSync('git', ['init', '-q', '--bare', dest]).status).toBe(0);
    const [cmd, ...args] = qemuCloneArgv('master', `--upload-pack=touch ${marker};false`, dest);
    const cwd = join(dir, 'work');
    mkdirSync(cwd);
    const r = spawnSync(cmd!, args, { cwd, encoding: 'utf8', env: { ...process.env, GIT_TERMINAL_PROMPT: '0' } });
    expect(r.status).not.toBe(0);
    expect(existsSync(marker)).toBe(false);
  });
});
