// The console's files: the exact bytes, one clean log per domain and the combined one. Logging
// never fails a run: a write error is kept for the report instead of thrown at whoever was typing.
import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import { join } from 'node:path';
import type { SourceId } from './demux.js';
import { stamp, type Line } from './lines.js';
import type { DomainNames } from './names.js';

export class ConsoleLogs {
  private readonly raw?: WriteStream;
  private readonly combined: WriteStream;
  /** Opened at a domain's first line, so a domain that never spoke leaves no empty file. */
  private readonly perDomain = new Map<SourceId, WriteStream>();
  private readonly errors: Error[] = [];

  constructor(
    private readonly dir: string,
    private readonly names: DomainNames,
    /** Milliseconds since the console started, for the notes' stamps. */
    private readonly now: () => number,
    /** Where the exact bytes go; false when someone else keeps them. Default dir/console-raw.log. */
    rawLog?: string | false,
  ) {
    mkdirSync(dir, { recursive: true });
    if (rawLog !== false) this.raw = this.open(rawLog ?? join(dir, 'console-raw.log'));
    this.combined = this.open(join(dir, 'console-all.log'));
  }

  /** The clean log file of a domain, or the combined one. */
  fileOf(of: SourceId | 'all'): string {
    const name = of === 'all' ? 'all' : this.names.display(of);
    return join(this.dir, `console-${name}.log`);
  }

  bytes(chunk: Buffer): void {
    this.raw?.write(chunk);
  }

  line(line: Line): void {
    let log = this.perDomain.get(line.source);
    if (!log) {
      log = this.open(this.fileOf(line.source));
      this.perDomain.set(line.source, log);
    }
    log.write(`${stamp(line.t)} ${line.text}\n`);
    this.combined.write(`${stamp(line.t)} ${this.names.display(line.source).padEnd(5)}| ${line.text}\n`);
  }

  /** A line of our own in the domain's log and the combined one: what the harness had to do, next to what it saw. */
  note(source: SourceId, text: string): void {
    const line = `${stamp(this.now())} [xen-pvh-virtio] ${text}\n`;
    this.perDomain.get(source)?.write(line);
    this.combined.write(line);
  }

  get writeErrors(): readonly Error[] {
    return [...this.errors];
  }

  /** Flushes and closes every file. */
  async close(): Promise<void> {
    const logs = [this.raw, this.combined, ...this.perDomain.values()];
    await Promise.all(
      logs.map((log) => (log && !log.closed && !log.writableFinished ? new Promise<void>((r) => log.end(() => r())) : undefined)),
    );
  }

  private open(path: string): WriteStream {
    const log = createWriteStream(path, { flags: 'a' });
    log.on('error', (err) => this.errors.push(err));
    return log;
  }
}
