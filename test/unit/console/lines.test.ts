// The line store's linesAfter, which the typist asks at every byte of echo: the same lines as
// filtering the whole history, found from the end so that a long history costs nothing.
import { describe, expect, it } from 'vitest';
import type { Line, SourceId } from '../../../src/console/index.js';
import { LineStore } from '../../../src/console/lines.js';
import { DomainNames } from '../../../src/console/names.js';

function storeOf(historyLimit: number) {
  const store = new LineStore(new DomainNames([{ name: 'domU1', domid: 1 }]), { historyLimit, tailLines: 3 });
  let seq = 0;
  const add = (source: SourceId) => {
    const line: Line = { seq: ++seq, source, text: `line ${seq}`, line: `line ${seq}`, t: seq, via: 'prefix', echo: false };
    store.add(line);
  };
  return { store, add };
}

describe('LineStore.linesAfter', () => {
  it("gives a domain's lines after a seq, as filtering its history would, other domains' lines between", () => {
    const { store, add } = storeOf(1000);
    for (let i = 0; i < 300; i++) add(i % 3 === 0 ? 'd1' : 'dom0');
    for (const source of ['dom0', 'd1', 'xen'] as const) {
      for (const after of [0, 1, 2, 150, 298, 299, 300, 400]) {
        expect(store.linesAfter(source, after)).toEqual(store.lines(source).filter((l) => l.seq > after));
      }
    }
  });

  it('gives every kept line when the seq is older than the history kept', () => {
    const { store, add } = storeOf(100);
    for (let i = 0; i < 250; i++) add('dom0');
    const kept = store.lines('dom0');
    expect(kept[0]!.seq).toBeGreaterThan(1);
    expect(store.linesAfter('dom0', 1)).toEqual([...kept]);
  });

  it('looks only at the lines it returns (and the one before them), not at the whole history', () => {
    const { store, add } = storeOf(50_000);
    for (let i = 0; i < 40_000; i++) add('dom0');
    const history = store.lines('dom0') as Line[];
    let looked = 0;
    // Every read of the history's seqs is counted.
    const counted = new Proxy(history, {
      get(target, key, receiver) {
        if (typeof key === 'string' && /^\d+$/.test(key)) looked++;
        return Reflect.get(target, key, receiver) as unknown;
      },
    });
    const spied = Object.create(store) as LineStore;
    spied.lines = () => counted;
    expect(LineStore.prototype.linesAfter.call(spied, 'dom0', 39_995)).toHaveLength(5);
    expect(looked).toBeLessThan(20);
  });
});
