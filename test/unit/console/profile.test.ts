// Where a console command's time goes (Console.run's profile), against the fake of Xen's
// console on a real socket: the focus switches it took, what was typed and how many echoes
// were waited for, the wait for the input turn, and the guest's own time apart from all that.
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Console, markCommand, type ConsoleOptions } from '../../../src/console/index.js';
import { FakeXen, type FakeXenOptions } from '../../support/fake-xen.js';
import { socketPair } from '../../support/console-helpers.js';

const fast = { chunkBytes: 4, intervalMs: 1 };
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function rig(fake: FakeXenOptions = {}, opts: Partial<ConsoleOptions> = {}) {
  const pair = await socketPair();
  const xen = new FakeXen(pair.qemu, fake);
  const console = new Console(pair.client, { logDir: join(pair.dir, 'logs'), domains: [{ name: 'domU1', domid: 1 }], pacing: fast, focusStepMs: 2000, ...opts });
  cleanups.push(() => pair.dispose(), () => console.close(), () => xen.stop());
  xen.boot();
  await console.expect('xen', /Serial input to DOM0/, 2000);
  return { xen, console };
}

/** The bytes a command's marked line takes on the wire, without Enter (the nonce's length is fixed). */
const markedBytes = (command: string) => Buffer.byteLength(markCommand(command, 'abcdef', 1).typed);

describe("a console command's profile", () => {
  it('tells the focus switch, the typing and the guest apart', async () => {
    const { console } = await rig();
    const r = await console.run('domU1', 'sleep 0.3', 5000);
    expect(r.exitStatus).toBe(0);
    const p = r.profile;
    expect(p.focusSwitches).toBe(1);
    expect(p.typedBytes).toBe(markedBytes('sleep 0.3') + 1);
    expect(p.echoWaits).toBe(Math.ceil(markedBytes('sleep 0.3') / fast.chunkBytes));
    // The fake sleeps 300 ms between the markers: that is the guest's, not the typing's.
    expect(p.guestMs).toBeGreaterThanOrEqual(290);
    expect(p.typingMs).toBeGreaterThan(0);
    expect(p.typingMs).toBeLessThan(p.guestMs);
    expect(p.turnMs).toBeLessThan(50);
    expect(p.focusMs + p.typingMs + p.guestMs).toBeLessThanOrEqual(r.durationMs + 1);
  });

  it('counts no switch when the domain already has focus, and two from a domU back to dom0', async () => {
    const { console } = await rig();
    await console.run('domU1', 'true', 5000);
    const again = await console.run('domU1', 'true', 5000);
    expect(again.profile.focusSwitches).toBe(0);
    expect(again.profile.focusMs).toBeLessThan(20);
    // Xen's cycle goes DOM1 → Xen → DOM0.
    expect((await console.run('dom0', 'true', 5000)).profile.focusSwitches).toBe(2);
  });

  it("counts the wait for the input turn as neither typing nor the guest's", async () => {
    const { console } = await rig();
    const [first, second] = await Promise.all([console.run('dom0', 'sleep 0.3', 5000), console.run('dom0', 'true', 5000)]);
    expect(first.profile.turnMs).toBeLessThan(50);
    expect(second.profile.turnMs).toBeGreaterThanOrEqual(290);
    expect(second.profile.guestMs).toBeLessThan(200);
  });

  it('counts the bytes and echoes of an erased and retyped line', async () => {
    // Byte 30 is dropped: the first attempt stops after the chunk that held it (bytes 28–31).
    const { console } = await rig({ garble: { at: 30, kind: 'drop' } }, { echoQuietMs: 300 });
    const r = await console.run('domU1', 'seq 2', 10_000);
    expect(r.output).toEqual(['line 1', 'line 2']);
    expect(console.retypedLines).toBe(1);
    const line = markedBytes('seq 2');
    // 32 bytes of the first attempt, CTRL-U, the whole line again, Enter.
    expect(r.profile.typedBytes).toBe(32 + 1 + line + 1);
    expect(r.profile.echoWaits).toBe(8 + Math.ceil(line / fast.chunkBytes));
    // The garbled echo stood still for echoQuietMs: typing's time, not the guest's.
    expect(r.profile.typingMs).toBeGreaterThanOrEqual(300);
  });
});
