// A scenario file from disk to a YAML document that keeps source positions, with every
// cost bounded: scenario paths come from users and pull requests, and a FIFO, a device,
// a huge file or an alias bomb must end in a usage error that names the file, not a hang.
import { closeSync, constants, fstatSync, openSync, readSync, type Stats } from 'node:fs';
import { isAlias, isMap, isPair, isScalar, isSeq, LineCounter, parseDocument, type Document, type Node, type ScalarTag } from 'yaml';
import { ConfigError, type SourcePos } from '../errors.js';

/**
 * Scenario files are a few kB (the largest built-in is under 3 kB); 1 MiB is hundreds of
 * times that, and small enough that reading, parsing and validating stay well under a second.
 */
export const MAX_SCENARIO_BYTES = 2 ** 20;

/**
 * Aliases may add at most this many nodes: far more than any scenario shares, and about as
 * many as a file at the size cap holds written out, so an alias bomb costs no more than the
 * largest honest file.
 */
export const MAX_ALIAS_NODES = 100_000;

export type PathKey = string | number;

/** What a non-regular file is, for the message that refuses it. */
export function fileKind(st: Stats): string {
  if (st.isDirectory()) return 'a directory';
  if (st.isFIFO()) return 'a FIFO';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  if (st.isSocket()) return 'a socket';
  return 'a special file';
}

const tooBig = (file: string) => new ConfigError(`scenario file ${file} is larger than 1 MiB, the limit for a scenario file`);

/** The text of a scenario file; only a regular file of at most MAX_SCENARIO_BYTES is read. */
export function readScenarioSource(file: string, shownAs: string): string {
  let fd: number;
  try {
    // Non-blocking, so that opening a FIFO returns at once instead of waiting for a writer.
    fd = openSync(file, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new ConfigError(code === 'ENOENT' ? `scenario file not found: ${file}` : `cannot read scenario file ${file}: ${(e as Error).message}`);
  }
  try {
    // fstat of the open file, not stat of the path: what we check is what we read.
    const st = fstatSync(fd);
    if (!st.isFile()) throw new ConfigError(`scenario file ${shownAs} is ${fileKind(st)}, not a regular file`);
    if (st.size > MAX_SCENARIO_BYTES) throw tooBig(shownAs);
    // The file may grow after fstat: read at most one byte past the cap to notice.
    const buf = Buffer.alloc(MAX_SCENARIO_BYTES + 1);
    let length = 0;
    while (length < buf.length) {
      const n = readSync(fd, buf, length, buf.length - length, null);
      if (n === 0) break;
      length += n;
    }
    if (length > MAX_SCENARIO_BYTES) throw tooBig(shownAs);
    return buf.toString('utf8', 0, length);
  } finally {
    closeSync(fd);
  }
}

/** A parsed document and how to turn its offsets into file:line:column. */
export class Located {
  constructor(
    readonly file: string,
    readonly doc: Document,
    readonly lines: LineCounter,
  ) {}

  at(offset: number): SourcePos {
    const { line, col } = this.lines.linePos(offset);
    return { file: this.file, line, column: col };
  }

  /** The node at a path, or the deepest ancestor that exists. */
  node(path: readonly PathKey[]): { node: Node | undefined; depth: number } {
    for (let depth = path.length; depth >= 0; depth--) {
      const node = depth === 0 ? (this.doc.contents as Node | null) : (this.doc.getIn(path.slice(0, depth), true) as Node | undefined);
      if (node && (node as { range?: unknown }).range) return { node, depth };
    }
    return { node: undefined, depth: 0 };
  }

  /** Where the value at a path starts; for an unknown key, where that key is written. */
  pos(path: readonly PathKey[], unknownKey?: string): SourcePos {
    const { node } = this.node(path);
    if (unknownKey !== undefined && node && isMap(node)) {
      const pair = node.items.find((p) => isScalar(p.key) && String(p.key.value) === unknownKey);
      const keyRange = pair && isScalar(pair.key) ? pair.key.range : undefined;
      if (keyRange) return this.at(keyRange[0]);
    }
    return this.at(node?.range?.[0] ?? 0);
  }
}

/** Parse YAML text; a syntax error, a duplicate key, a bad alias or an empty file is a ConfigError. */
export function parseYaml(file: string, source: string): Located {
  // Text that did not come through readScenarioSource gets the same cap (a character is at least a byte).
  if (source.length > MAX_SCENARIO_BYTES) throw tooBig(file);
  const lines = new LineCounter();
  // Hex integers stay strings so addresses above 2^53 survive and are parsed once, by us.
  // uniqueKeys is off because yaml checks each key against all before it (50 000 keys took
  // 9 s); resolveDocument checks them with a set instead.
  const doc = parseDocument(source, {
    lineCounter: lines,
    uniqueKeys: false,
    prettyErrors: false,
    customTags: (tags) => tags.map((t) => (typeof t === 'object' && 'format' in t && t.format === 'HEX' ? ({ ...t, resolve: (str: string) => str } as ScalarTag) : t)),
  });
  const located = new Located(file, doc, lines);
  const problem = doc.errors[0];
  if (problem) {
    const first = problem.message.split('\n')[0]!.replace(/ at line \d+, column \d+.*$/, '');
    throw new ConfigError(`invalid YAML: ${first}`, located.at(problem.pos[0]));
  }
  if (doc.contents === null) throw new ConfigError('empty scenario file', { file, line: 1, column: 1 });
  resolveDocument(located);
  return located;
}

/**
 * One pass over the document, in order: each alias is replaced by the node its anchor names
 * (so toJS never resolves one: yaml scans every earlier anchor per alias, 50 000 took 30 s),
 * the nodes aliases add are counted against MAX_ALIAS_NODES, and map keys are checked for
 * duplicates. Each node is visited once.
 */
function resolveDocument(located: Located): void {
  const anchors = new Map<string, Node>();
  // Expanded sizes of the anchored nodes seen so far; absent while a node is still being walked.
  const sizes = new Map<Node, number>();
  let added = 0;
  const aliasError = (alias: Node & { source: string }, message: string) =>
    new ConfigError(`alias *${alias.source}: ${message}`, located.at(alias.range?.[0] ?? 0));

  const walk = (value: unknown): { node: unknown; size: number } => {
    if (isAlias(value)) {
      const target = anchors.get(value.source);
      if (!target) throw aliasError(value, `no anchor &${value.source} before it`);
      const size = sizes.get(target);
      if (size === undefined) throw aliasError(value, `it is inside the node &${value.source} names, which would make that node endless`);
      added += size;
      if (added > MAX_ALIAS_NODES) throw aliasError(value, `this file's aliases expand to more than ${MAX_ALIAS_NODES} nodes, the limit (an alias bomb?)`);
      return { node: target, size };
    }
    if (!isMap(value) && !isSeq(value)) {
      if (isScalar(value) && value.anchor) {
        anchors.set(value.anchor, value);
        sizes.set(value, 1);
      }
      return { node: value, size: value === null || value === undefined ? 0 : 1 };
    }
    // Named before its items are walked: an alias among them to this anchor finds no size yet.
    if (value.anchor) anchors.set(value.anchor, value);
    let size = 1;
    const keys = new Set<string>();
    value.items.forEach((item: unknown, i: number) => {
      if (!isPair(item)) {
        const r = walk(item);
        (value.items as unknown[])[i] = r.node;
        size += r.size;
        return;
      }
      const written = item.key as Node | null;
      const key = walk(item.key);
      const val = walk(item.value);
      item.key = key.node;
      item.value = val.node;
      size += key.size + val.size;
      // Keys as toJS will spell them, so 1 and "1" collide here as they would in the object.
      if (isMap(value) && isScalar(key.node)) {
        const name = String(key.node.value);
        if (keys.has(name)) throw new ConfigError('invalid YAML: Map keys must be unique', located.at(written?.range?.[0] ?? 0));
        keys.add(name);
      }
    });
    if (value.anchor) sizes.set(value, size);
    return { node: value, size };
  };

  located.doc.contents = walk(located.doc.contents).node as Node;
}
