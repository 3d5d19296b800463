import { describe, expect, it } from 'vitest';
import { cleanText, LineSplitter, MAX_LINE_BYTES, parseBanner } from '../../../src/console/index.js';
import { randomCuts } from '../../support/console-helpers.js';

function splitAll(chunks: Buffer[]): string[] {
  const s = new LineSplitter();
  const out = chunks.flatMap((c, i) => s.push(c, i).map((l) => l.text));
  return [...out, ...s.flush().map((l) => l.text)];
}

describe('LineSplitter', () => {
  it('ends lines at LF and drops CR, whatever the CR/LF combination', () => {
    expect(splitAll([Buffer.from('a\nb\r\nc\r\r\nd\re\n')])).toEqual(['a', 'b', 'c', 'de']);
  });

  it('gives the same lines when a read ends between CR and LF', () => {
    expect(splitAll([Buffer.from('one\r'), Buffer.from('\ntwo\r\r'), Buffer.from('\n')])).toEqual(['one', 'two']);
  });

  it('strips NULs, BEL and ANSI sequences such as ash’s ESC[6n, keeping the raw bytes', () => {
    const s = new LineSplitter();
    const [line] = s.push(Buffer.from('~ # \x1b[6n\x00ls\x07 \x1b[1;32mok\x1b[0m\x1b]0;title\x07\n'), 0);
    expect(line?.text).toBe('~ # ls ok');
    expect(line?.raw.toString('latin1')).toContain('\x1b[6n');
  });

  it('decodes UTF-8 cut at every byte position the same way', () => {
    const text = 'µs ✓ 𝄞 done\nnext ✓\n';
    const bytes = Buffer.from(text, 'utf8');
    for (let cut = 0; cut <= bytes.length; cut++) {
      expect(splitAll([bytes.subarray(0, cut), bytes.subarray(cut)])).toEqual(['µs ✓ 𝄞 done', 'next ✓']);
    }
  });

  it('is independent of read sizes over many seeds', () => {
    const bytes = Buffer.from('(XEN) a\r\n\x1b[6nb ✓\r\r\n\x00c\rd\n\n(XEN) DOM1: e\r\ntail-without-newline', 'utf8');
    const reference = splitAll([bytes]);
    for (let seed = 1; seed <= 200; seed++) expect(splitAll(randomCuts(bytes, seed, 7))).toEqual(reference);
  });

  it('stamps a line with the time its first byte arrived', () => {
    const s = new LineSplitter();
    expect(s.push(Buffer.from('ab'), 10)).toEqual([]);
    const [a, b] = s.push(Buffer.from('c\nd\n'), 25);
    expect(a?.t).toBe(10);
    expect(b?.t).toBe(25);
  });

  it('shows the line still being received (a prompt) without breaking a UTF-8 tail', () => {
    const s = new LineSplitter();
    s.push(Buffer.concat([Buffer.from('dom0 login: ✓'), Buffer.from('✓').subarray(0, 1)]), 3);
    expect(s.partial()).toEqual({ text: 'dom0 login: ✓', t: 3 });
  });

  it('cuts a line that never ends so memory stays bounded', () => {
    const s = new LineSplitter();
    const lines = s.push(Buffer.alloc(MAX_LINE_BYTES * 2 + 5, 0x61), 0);
    expect(lines.map((l) => l.raw.length)).toEqual([MAX_LINE_BYTES, MAX_LINE_BYTES]);
    expect(s.flush()[0]?.raw.length).toBe(5);
  });

  it("keeps Xen's focus banner that lands right behind a guest's cut-short escape sequence", () => {
    // Bytes as a real run logged them: domU's ash had sent the ESC of its cursor query when
    // Xen printed the banner of a CTRL-a ×3; "*** S" must not be taken for that sequence's tail.
    const raw = "(XEN) domU# \x1b*** Serial input to Xen (type 'CTRL-a' three times to switch input)\r\n";
    const [line] = new LineSplitter().push(Buffer.from(raw, 'latin1'), 0);
    expect(line?.text).toBe("(XEN) domU# *** Serial input to Xen (type 'CTRL-a' three times to switch input)");
    expect(parseBanner(line!.text)).toBe('xen');
    expect(parseBanner(cleanText('a\x1b[6*** Serial input to DOM0 (type'))).toBe('dom0');
    // Whole sequences with one intermediate byte still go.
    expect(cleanText('x\x1b(By\x1b[?25hz\x1b[1 qw')).toBe('xyzw');
  });

  it('cleanText keeps tabs and printable text', () => {
    expect(cleanText('a\tb\x1b(B\x1b7c')).toBe('a\tbc');
  });
});
