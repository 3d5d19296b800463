// Just enough XML for JUnit reports that come from other jobs' artifacts: elements,
// attributes, text, CDATA, comments and processing instructions, and the five predefined
// entities plus character references. No DOCTYPE, hence no entity of the document's own and
// nothing that expands: the input is untrusted, and a report never needs one. Errors name the
// line, so a message can point at the broken spot of a file.

export interface XmlElement {
  name: string;
  attrs: Map<string, string>;
  /** Child elements and text runs (CDATA included), in document order; comments are dropped. */
  children: (XmlElement | string)[];
  /** Where the element starts in the text (lineAt gives its line, for messages). */
  at: number;
}

export class XmlError extends Error {
  override name = 'XmlError';
  constructor(
    message: string,
    readonly line: number,
  ) {
    super(`line ${line}: ${message}`);
  }
}

/** Deeper nesting than a report ever has is refused rather than followed. */
const MAX_DEPTH = 64;
const NAME = /[A-Za-z_:][-A-Za-z0-9_:.]*/y;
const SPACE = /[ \t\r\n]*/y;
// What XML 1.0 allows in a document (its Char production): no other control characters.
// eslint-disable-next-line no-control-regex
const NOT_XML_CHAR = /[^\x09\x0a\x0d\x20-\ud7ff\ue000-\ufffd\u{10000}-\u{10ffff}]/u;
const PREDEFINED: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };

export function parseXml(text: string): XmlElement {
  return new Reader(text).document();
}

class Reader {
  private pos = 0;

  constructor(private readonly s: string) {
    if (s.startsWith('\ufeff')) this.pos = 1;
    const bad = NOT_XML_CHAR.exec(s);
    if (bad) throw new XmlError(`character U+${bad[0].codePointAt(0)!.toString(16).padStart(4, '0')} is not allowed in XML`, this.lineAt(bad.index));
  }

  document(): XmlElement {
    if (this.s.startsWith('<?xml', this.pos) && /[ \t\r\n?]/.test(this.s[this.pos + 5] ?? '')) this.declaration();
    this.misc();
    if (this.s.startsWith('<!DOCTYPE', this.pos)) this.fail('a DOCTYPE is not accepted in a report');
    if (this.s[this.pos] !== '<') this.fail(this.pos >= this.s.length ? 'no root element' : 'expected the root element');
    const root = this.element(0);
    this.misc();
    if (this.pos < this.s.length) this.fail('content after the root element');
    return root;
  }

  private declaration(): void {
    const end = this.s.indexOf('?>', this.pos);
    if (end < 0) this.fail('unterminated XML declaration');
    const decl = this.s.slice(this.pos, end);
    const encoding = /\bencoding\s*=\s*["']([^"']*)["']/.exec(decl)?.[1];
    // The bytes were already decoded as UTF-8; a document that says otherwise would be misread.
    if (encoding !== undefined && !/^utf-?8$/i.test(encoding)) this.fail(`encoding ${encoding} is not supported; expected UTF-8`);
    this.pos = end + 2;
  }

  /** Whitespace, comments and processing instructions, which may surround the root. */
  private misc(): void {
    for (;;) {
      this.space();
      if (this.s.startsWith('<!--', this.pos)) this.comment();
      else if (this.s.startsWith('<?', this.pos)) this.instruction();
      else return;
    }
  }

  private element(depth: number): XmlElement {
    if (depth >= MAX_DEPTH) this.fail(`elements nested deeper than ${MAX_DEPTH}`);
    const at = this.pos;
    this.pos++; // '<'
    const name = this.name('an element name');
    const attrs = new Map<string, string>();
    for (;;) {
      const before = this.pos;
      this.space();
      if (this.s.startsWith('/>', this.pos)) {
        this.pos += 2;
        return { name, attrs, children: [], at };
      }
      if (this.s[this.pos] === '>') {
        this.pos++;
        break;
      }
      if (this.pos === before) this.fail(`expected whitespace, > or /> in <${name}>`);
      const attr = this.name('an attribute name');
      this.space();
      if (this.s[this.pos] !== '=') this.fail(`expected = after attribute ${attr}`);
      this.pos++;
      this.space();
      const quote = this.s[this.pos];
      if (quote !== '"' && quote !== "'") this.fail(`expected a quoted value for attribute ${attr}`);
      const end = this.s.indexOf(quote, this.pos + 1);
      if (end < 0) this.fail(`unterminated value of attribute ${attr}`);
      const raw = this.s.slice(this.pos + 1, end);
      if (raw.includes('<')) this.fail(`< in the value of attribute ${attr}`);
      if (attrs.has(attr)) this.fail(`attribute ${attr} given twice`);
      // Attribute-value normalization: literal whitespace becomes a space, references stay exact.
      attrs.set(attr, this.decode(raw.replace(/[\t\n\r]/g, ' '), this.pos));
      this.pos = end + 1;
    }
    const children: (XmlElement | string)[] = [];
    for (;;) {
      if (this.pos >= this.s.length) this.fail(`<${name}> (line ${this.lineAt(at)}) is not closed`);
      if (this.s.startsWith('</', this.pos)) {
        this.pos += 2;
        const closing = this.name('an element name');
        if (closing !== name) this.fail(`</${closing}> closes <${name}> (line ${this.lineAt(at)})`);
        this.space();
        if (this.s[this.pos] !== '>') this.fail(`expected > after </${closing}`);
        this.pos++;
        return { name, attrs, children, at };
      }
      if (this.s.startsWith('<![CDATA[', this.pos)) {
        const end = this.s.indexOf(']]>', this.pos + 9);
        if (end < 0) this.fail('unterminated CDATA section');
        children.push(this.s.slice(this.pos + 9, end));
        this.pos = end + 3;
      } else if (this.s.startsWith('<!--', this.pos)) {
        this.comment();
      } else if (this.s.startsWith('<?', this.pos)) {
        this.instruction();
      } else if (this.s.startsWith('<!', this.pos)) {
        this.fail('a declaration is not accepted inside an element');
      } else if (this.s[this.pos] === '<') {
        children.push(this.element(depth + 1));
      } else {
        const end = this.s.indexOf('<', this.pos);
        const stop = end < 0 ? this.s.length : end;
        const raw = this.s.slice(this.pos, stop);
        if (raw.includes(']]>')) this.fail(']]> outside a CDATA section');
        children.push(this.decode(raw, this.pos));
        this.pos = stop;
      }
    }
  }

  private comment(): void {
    const end = this.s.indexOf('-->', this.pos + 4);
    if (end < 0) this.fail('unterminated comment');
    this.pos = end + 3;
  }

  private instruction(): void {
    const end = this.s.indexOf('?>', this.pos + 2);
    if (end < 0) this.fail('unterminated processing instruction');
    this.pos = end + 2;
  }

  private name(what: string): string {
    NAME.lastIndex = this.pos;
    const m = NAME.exec(this.s);
    if (!m) this.fail(`expected ${what}`);
    this.pos += m[0].length;
    return m[0];
  }

  private space(): void {
    SPACE.lastIndex = this.pos;
    this.pos += SPACE.exec(this.s)![0].length;
  }

  /** Text with its references replaced; `at` is where it starts, for messages. */
  private decode(raw: string, at: number): string {
    if (!raw.includes('&')) return raw;
    return raw.replace(/&([^;&\s]{0,12});?/g, (whole, ref: string, offset: number) => {
      const line = this.lineAt(at + offset);
      if (!whole.endsWith(';')) throw new XmlError(`& not followed by a reference (write &amp;)`, line);
      const named = PREDEFINED[ref];
      if (named !== undefined) return named;
      const num = /^#x([0-9a-fA-F]{1,6})$/.exec(ref) ?? /^#([0-9]{1,7})$/.exec(ref);
      if (!num) throw new XmlError(`unknown entity &${ref}; (only &lt; &gt; &amp; &quot; &apos; and character references)`, line);
      const code = parseInt(num[1]!, ref.startsWith('#x') ? 16 : 10);
      const char = code <= 0x10ffff ? String.fromCodePoint(code) : '';
      if (!char || NOT_XML_CHAR.test(char)) throw new XmlError(`character reference &${ref}; is not an XML character`, line);
      return char;
    });
  }

  private lineAt(index: number): number {
    return lineAt(this.s, index);
  }

  private fail(message: string): never {
    throw new XmlError(message, this.lineAt(this.pos));
  }
}

/** The line of `text` that `index` falls on, from 1 (for messages only: it counts from the start). */
export function lineAt(text: string, index: number): number {
  let line = 1;
  for (let i = text.indexOf('\n'); i >= 0 && i < index; i = text.indexOf('\n', i + 1)) line++;
  return line;
}

/** The element's text: its text runs joined, child elements ignored. */
export function textOf(element: XmlElement): string {
  return element.children.filter((c): c is string => typeof c === 'string').join('');
}

export function escapeText(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** An attribute value that reads back exactly: whitespace other than a space is kept as references. */
export function escapeAttr(text: string): string {
  return escapeText(text).replace(/"/g, '&quot;').replace(/\t/g, '&#9;').replace(/\n/g, '&#10;').replace(/\r/g, '&#13;');
}
