// Built components (the hypervisor, Xen's tools, the backend QEMU, Linux): each cached on its own under
// <cache>/components/<name>/<key>, keyed by its own inputs, so a change to one never
// rebuilds another. A build runs in <cache>/work/<name>-<key>-<pid>, logging every
// external step to a file there; the logs move into the component when it succeeds and
// stay in the work folder, named in the error, when it fails.
import { spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdir, readFile, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { InfraError } from '../../errors.js';
import { inLogGroup } from '../../host/log-groups.js';
import { processAlive } from '../../host/process-identity.js';
import { currentStop, throwIfStopped } from '../../host/stop.js';
import { markUsed } from '../../cache/index.js';
import { BuildFailure, hostCause, readBuildLog } from './failure.js';

export const COMPONENT_FILE = 'component.json';
/** Failed build trees kept under <cache>/work, the one about to start included. */
const FAILED_BUILDS_KEPT = 3;

/** What a finished component records about itself (component.json). */
export interface ComponentRecord {
  name: string;
  key: string;
  /** The data the key was computed from. */
  inputs: unknown;
  /** Output files, by purpose, relative to the component folder. */
  files: Record<string, string>;
  /** Facts read off the built source and outputs, for capabilities. */
  features: Record<string, boolean>;
  /** One paragraph on how it was made (goes into the manifest's origin). */
  built: string;
  /** Host tool versions that went into the build but not into the key. */
  host: Record<string, string>;
  /** Seconds per phase, for the record. */
  seconds: Record<string, number>;
  createdAt: string;
}

export interface Component {
  dir: string;
  record: ComponentRecord;
}

/** The file a component holds for a purpose (record.files), e.g. componentFile(xen, 'image'). */
export function componentFile(c: Component, purpose: string): string {
  return join(c.dir, c.record.files[purpose]!);
}

export function componentDir(cacheDir: string, name: string, key: string): string {
  return join(cacheDir, 'components', name, key);
}

/** A finished component, or undefined when absent or unreadable (it then gets rebuilt). */
export async function findComponent(cacheDir: string, name: string, key: string): Promise<Component | undefined> {
  const dir = componentDir(cacheDir, name, key);
  try {
    const record = JSON.parse(await readFile(join(dir, COMPONENT_FILE), 'utf8')) as ComponentRecord;
    for (const file of Object.values(record.files)) await stat(join(dir, file));
    markUsed(cacheDir, dir);
    return { dir, record };
  } catch {
    return undefined;
  }
}

/** A build in progress: its work folder, its logs and its phase timings. */
export class ComponentBuild {
  readonly logs: string;
  readonly seconds: Record<string, number> = {};

  /** How often a long step says it is still running. */
  progressMs = PROGRESS_MS;

  private constructor(
    readonly name: string,
    readonly key: string,
    readonly work: string,
    private readonly log: (line: string) => void,
    private readonly tree: BuildTree,
  ) {
    this.logs = join(work, 'logs');
  }

  /**
   * A fresh work folder; leftovers of earlier builds of this key whose process is gone are
   * removed. `tree` says whose tree it builds: a failed step of a tree under test is a BuildFailure.
   */
  static async start(cacheDir: string, name: string, key: string, log: (line: string) => void, tree: BuildTree = {}): Promise<ComponentBuild> {
    const root = join(cacheDir, 'work');
    await mkdir(root, { recursive: true });
    const prefix = `${name}-${key.slice(0, 16)}-`;
    const failed: { path: string; mtime: number }[] = [];
    for (const entry of await readdir(root)) {
      const pid = Number(/-(\d+)$/.exec(entry)?.[1] ?? NaN);
      if (!Number.isInteger(pid) || processAlive(pid)) continue;
      if (entry.startsWith(prefix)) await rm(join(root, entry), { recursive: true, force: true });
      // An entry another process removed meanwhile sorts as the oldest; removing it again is a no-op.
      else failed.push({ path: join(root, entry), mtime: (await stat(join(root, entry)).catch(() => undefined))?.mtimeMs ?? 0 });
    }
    // A failed build's tree stays for diagnosis (its error names it), but only the latest few.
    failed.sort((a, b) => b.mtime - a.mtime);
    for (const old of failed.slice(FAILED_BUILDS_KEPT - 1)) await rm(old.path, { recursive: true, force: true });
    const work = join(root, `${prefix}${process.pid}`);
    await rm(work, { recursive: true, force: true });
    await mkdir(join(work, 'logs'), { recursive: true });
    return new ComponentBuild(name, key, work, log, tree);
  }

  /**
   * Runs one external build step at lower priority. Its output goes to logs/<logName> as it
   * comes (a developer can follow the log while a ten-minute ninja runs), and every
   * PROGRESS_MS a line says the step is still running, with the log's last line. A failure
   * is an InfraError naming the step and the log, with the log's last 30 lines; of a tree
   * under test, a BuildFailure with the log's first error, unless the host caused it.
   */
  async step(
    title: string,
    logName: string,
    command: string,
    args: readonly string[],
    opts: { cwd?: string; env?: Record<string, string> } = {},
  ): Promise<void> {
    // In Actions each step folds into a group of its own, its progress lines inside.
    return inLogGroup(`${this.name}: ${title}`, () => this.runStep(title, logName, command, args, opts));
  }

  private async runStep(title: string, logName: string, command: string, args: readonly string[], opts: { cwd?: string; env?: Record<string, string> }): Promise<void> {
    const logFile = join(this.logs, logName);
    this.log(`${this.name}: ${title}… (full log: ${logFile})`);
    const started = Date.now();
    const header = [
      `$ ${[command, ...args].join(' ')}`,
      `cwd: ${opts.cwd ?? process.cwd()}`,
      ...Object.entries(opts.env ?? {}).map(([k, v]) => `env: ${k}=${v}`),
      '',
    ].join('\n');
    const { exitCode, tail, signal } = await runLogged('nice', ['-n', '19', command, ...args], { ...opts, logFile, header }, (lastLine) => {
      const at = ((Date.now() - started) / 1000).toFixed(0);
      this.log(`${this.name}: ${title}: still running after ${at} s${lastLine ? `; last line: ${lastLine.slice(0, 160)}` : ''}`);
    }, this.progressMs);
    const seconds = (Date.now() - started) / 1000;
    this.seconds[logName.replace(/\.log$/, '')] = Math.round(seconds);
    if (exitCode !== 0) {
      let message = `${this.name}: ${title} failed (exit ${exitCode}, ${seconds.toFixed(0)} s); last 30 lines of ${logFile}:\n${tail.join('\n')}`;
      if (this.tree.underTest) {
        const reading = await readBuildLog(logFile, header.split('\n').length - 1);
        const host = hostCause(exitCode, signal, reading);
        if (!host) throw new BuildFailure({ component: this.tree.label ?? this.name, step: title, exitCode, seconds, logFile, tail: reading.tail, ...(reading.firstError ? { firstError: reading.firstError } : {}) });
        message += `\nnot counted as a failure of the tree under test: ${host}`;
      }
      throw new InfraError(message, { logFile });
    }
    this.log(`${this.name}: ${title} done in ${seconds.toFixed(0)} s`);
  }

  /** Times an in-process phase the same way steps are timed. */
  async phase<T>(title: string, what: () => Promise<T>): Promise<T> {
    const started = Date.now();
    const value = await what();
    const seconds = (Date.now() - started) / 1000;
    this.seconds[title] = Math.round(seconds);
    this.log(`${this.name}: ${title} done in ${seconds.toFixed(0)} s`);
    return value;
  }

  /**
   * Moves the outputs (already in out/, relative names in record.files) and the logs into
   * the component's cache folder and removes the work folder. A component that another
   * process finished first is kept and ours dropped.
   */
  async finish(cacheDir: string, out: string, record: Omit<ComponentRecord, 'name' | 'key' | 'seconds' | 'createdAt'>): Promise<Component> {
    const full: ComponentRecord = { name: this.name, key: this.key, ...record, seconds: this.seconds, createdAt: new Date().toISOString() };
    await rename(this.logs, join(out, 'logs'));
    await writeFile(join(out, COMPONENT_FILE), JSON.stringify(full, null, 2) + '\n');
    const dir = componentDir(cacheDir, this.name, this.key);
    await mkdir(join(dir, '..'), { recursive: true });
    try {
      await rename(out, dir);
    } catch (cause) {
      if (!(await findComponent(cacheDir, this.name, this.key))) throw cause;
    }
    await rm(this.work, { recursive: true, force: true });
    const done = await findComponent(cacheDir, this.name, this.key);
    if (!done) throw new InfraError(`${this.name} component ${dir} is unreadable right after its build`);
    return done;
  }
}

/** Whose tree a build compiles. */
export interface BuildTree {
  /** The user's tree, the one the run tests (the source provider's Xen and QEMU). */
  underTest?: boolean;
  /** Its name in reports ("xen", "qemu"); the component's name when absent. */
  label?: string;
}

/** A build step quiet for longer than this says it is still running (CI logs look hung otherwise). */
export const PROGRESS_MS = 30_000;

/**
 * Runs a command with its stdout and stderr appended to logFile as they come, calling
 * progress(last line) every progressMs while it runs. Keeps only the last 30 lines in memory.
 * Stopped with the harness: a child left behind would keep building after a cancel.
 */
export async function runLogged(
  command: string,
  args: readonly string[],
  opts: { cwd?: string; env?: Record<string, string>; logFile: string; header: string },
  progress: (lastLine: string | undefined) => void,
  progressMs: number,
): Promise<{ exitCode: number; tail: string[]; signal?: NodeJS.Signals }> {
  const log = createWriteStream(opts.logFile);
  log.write(opts.header);
  const tail: string[] = [];
  let partial = '';
  const keep = (chunk: Buffer) => {
    log.write(chunk);
    const lines = (partial + chunk.toString('utf8')).split('\n');
    partial = lines.pop() ?? '';
    for (const l of lines) if (l.trim()) tail.push(l);
    if (tail.length > 30) tail.splice(0, tail.length - 30);
  };
  throwIfStopped();
  const child = spawn(command, [...args], { cwd: opts.cwd, env: { ...process.env, ...(opts.env ?? {}) }, stdio: ['ignore', 'pipe', 'pipe'] });
  const stop = () => child.kill('SIGTERM');
  process.once('exit', stop);
  // The run's deadline or a cancel ends a build step at once, not when make is done.
  const signal = currentStop();
  signal?.addEventListener('abort', stop, { once: true });
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  const timer = setInterval(() => progress(partial.trim() || tail.at(-1)), progressMs);
  const started = Date.now();
  try {
    const { exitCode, killedBy } = await new Promise<{ exitCode: number; killedBy: NodeJS.Signals | null }>((resolve, reject) => {
      child.once('error', (cause) => reject(new InfraError(`cannot run ${command}: ${cause.message}`, { cause })));
      child.once('close', (code, killedBy) => resolve({ exitCode: code ?? (killedBy ? 128 : 255), killedBy }));
    });
    if (partial.trim()) tail.push(partial);
    const end = `\nexit: ${exitCode} after ${((Date.now() - started) / 1000).toFixed(1)} s${signal?.aborted ? ` (stopped: ${String(signal.reason)})` : ''}\n`;
    await new Promise<void>((resolve) => log.end(end, () => resolve()));
    throwIfStopped(signal);
    return { exitCode, tail: tail.slice(-30), ...(killedBy ? { signal: killedBy } : {}) };
  } finally {
    clearInterval(timer);
    process.off('exit', stop);
    signal?.removeEventListener('abort', stop);
  }
}
