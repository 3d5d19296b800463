// The components not under test are pinned to the commit their ref names when the bisection
// starts, so that every step differs only in the commit being tested.
import { describe, expect, it } from 'vitest';
import { pinOtherComponents, type BisectRequest } from '../../../src/bisect/index.js';
import { ConfigError } from '../../../src/errors.js';
import { git, series } from './series.js';

const qemu = series(2, () => 'good');
const linux = series(1, () => 'good');
// A linux-repo without a linux-ref means its master, as for a run.
git(linux.dir, 'branch', 'master');

function request(component: BisectRequest['component'], runOptions: BisectRequest['runOptions']): BisectRequest {
  return {
    component,
    repo: '/x',
    good: 'a',
    bad: 'b',
    labels: { repo: '--repo', good: '--good', bad: '--bad' },
    scenarios: 'boot-smoke',
    cacheDir: '/c',
    cwd: '/',
    logsDir: '/l',
    junitPath: '/j.xml',
    runOptions,
  };
}

describe('the other components during a bisection', () => {
  it("are held at the commit their branch names now, and the log says so", async () => {
    const lines: string[] = [];
    const pinned = await pinOtherComponents(
      request('xen', { rig: 'source', 'qemu-repo': `file://${qemu.dir}`, 'qemu-ref': 'main', 'linux-repo': `file://${linux.dir}` }),
      (l) => lines.push(l),
    );
    expect(pinned.runOptions).toMatchObject({ 'qemu-ref': qemu.ids[2], 'linux-ref': linux.ids[1] });
    expect(lines).toEqual([`qemu stays at ${qemu.ids[2]!.slice(0, 12)} (main now) for every step`, `linux stays at ${linux.ids[1]!.slice(0, 12)} (master now) for every step`]);
  });

  it('are left alone when given by path, by commit id, or not built from a ref', async () => {
    const byPath = request('xen', { rig: 'source', 'qemu-path': '/src/qemu' });
    expect((await pinOtherComponents(byPath, () => {})).runOptions).toEqual(byPath.runOptions);
    const byId = request('qemu', { rig: 'source', 'xen-repo': 'https://unreachable.invalid/xen.git', 'xen-ref': qemu.ids[1]! });
    expect((await pinOtherComponents(byId, () => {})).runOptions).toEqual(byId.runOptions);
    const debian = request('linux', { rig: 'debian' });
    expect((await pinOtherComponents(debian, () => {})).runOptions).toEqual({ rig: 'debian' });
  });

  it('refuse a ref that does not exist, naming it', async () => {
    const e = await pinOtherComponents(request('xen', { rig: 'source', 'qemu-repo': `file://${qemu.dir}`, 'qemu-ref': 'no-such' }), () => {}).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(ConfigError);
    expect((e as Error).message).toMatch(/--qemu-ref\) = no-such: no such branch or tag/);
  });
});
