// A private apt for arm64 packages, living entirely under the cache directory: its own
// sources, lists, empty dpkg status and archive cache, so the host's dpkg database and
// apt configuration are never read or written.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdir, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { run } from '../../host/exec.js';
import { ConfigError, InfraError } from '../../errors.js';
import { markUsed } from '../../cache/index.js';
import { changesAllowed, NeedsChange } from '../../host/dry-run.js';

/** Package lists older than this are refreshed before versions are resolved. */
export const LISTS_MAX_AGE_MS = 6 * 3600_000;

export interface PackageVersion {
  name: string;
  version: string;
  /** 'arm64' or 'all'. */
  arch: string;
}

export interface AptSource {
  mirror: string;
  suite: string;
  components: string[];
  arch: string;
  /** Also list source packages (a deb-src line), for `apt-get source`. */
  sources?: boolean;
}

const DEFAULT_MIRROR = 'http://deb.debian.org/debian';
const KEYRING = '/usr/share/keyrings/debian-archive-keyring.gpg';

const DEBIAN_SUITES = /^(bookworm|trixie|forky|sid|bullseye)(-updates|-backports)?$/;

/**
 * The Debian mirror the host already uses, so a runner behind a local mirror uses it for
 * us too. Only entries for Debian suites count: an Ubuntu runner's archive has no bookworm.
 */
export function hostMirror(sourcesText?: string): string {
  const text = sourcesText ?? readHostSources();
  for (const stanza of text.split(/\n\s*\n/)) {
    const uris = /^URIs:\s*(.+)$/im.exec(stanza)?.[1]?.trim().split(/\s+/) ?? [];
    const suites = /^Suites:\s*(.+)$/im.exec(stanza)?.[1]?.trim().split(/\s+/) ?? [];
    if (uris[0] && suites.some((s) => DEBIAN_SUITES.test(s))) return uris[0].replace(/\/$/, '');
  }
  for (const line of text.split('\n')) {
    const m = /^deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+(\S+)/.exec(line.trim());
    if (m?.[1] && m[2] && DEBIAN_SUITES.test(m[2])) return m[1].replace(/\/$/, '');
  }
  return DEFAULT_MIRROR;
}

function readHostSources(): string {
  // Read synchronously: this runs once per process and keeps rigRecipe() free of promises.
  for (const file of ['/etc/apt/sources.list.d/debian.sources', '/etc/apt/sources.list']) {
    try {
      return readFileSync(file, 'utf8');
    } catch {
      continue;
    }
  }
  return '';
}

/**
 * A value as apt's configuration syntax holds it: inside double quotes, where apt knows no
 * escape, so a `"` would end the string and let the rest of a path (the cache directory is
 * the user's) add options such as APT::Update::Pre-Invoke, which runs a command. A value apt
 * cannot hold is refused instead.
 */
export function aptQuoted(value: string): string {
  // eslint-disable-next-line no-control-regex
  const bad = /["\\\x00-\x1f\x7f]/.exec(value);
  if (bad) {
    const shown = JSON.stringify(bad[0]);
    throw new ConfigError(`${JSON.stringify(value)} (under the cache directory) contains ${shown}, which apt's configuration cannot hold: choose another cache-dir (--cache-dir, XEN_PVH_VIRTIO_CACHE)`);
  }
  return `"${value}"`;
}

export class PrivateApt {
  readonly root: string;

  constructor(
    private readonly cacheDir: string,
    readonly source: AptSource,
  ) {
    this.root = join(cacheDir, 'apt', `debian-${source.suite}-${source.arch}`);
  }

  get archives(): string {
    return join(this.root, 'cache', 'archives');
  }

  private get lists(): string {
    return join(this.root, 'lists');
  }

  /**
   * Our apt.conf, handed over through APT_CONFIG: apt reads that file before the host's
   * apt.conf.d, and it points Dir::Etc::Parts and Dir::Etc::Main away from the host, so no
   * host setting (e.g. a container's "no pkgcache" snippet) leaks into our apt.
   */
  private config(): string {
    const r = this.root;
    const entries: [string, string][] = [
      ['Dir::Etc::Main', '/dev/null'],
      ['Dir::Etc::Parts', join(r, 'apt.conf.d')],
      ['APT::Architecture', this.source.arch],
      ['Dir::Etc::SourceList', join(r, 'sources.list')],
      ['Dir::Etc::SourceParts', join(r, 'sources.list.d')],
      ['Dir::Etc::Preferences', join(r, 'preferences')],
      ['Dir::Etc::PreferencesParts', join(r, 'preferences.d')],
      ['Dir::State', join(r, 'state')],
      ['Dir::State::Lists', this.lists],
      ['Dir::State::status', join(r, 'state', 'status')],
      ['Dir::Cache', join(r, 'cache')],
      ['Dir::Cache::pkgcache', join(r, 'cache', 'pkgcache.bin')],
      ['Dir::Cache::srcpkgcache', join(r, 'cache', 'srcpkgcache.bin')],
      ['Dir::Log', join(r, 'log')],
      ['Acquire::Languages', 'none'],
      ['APT::Install-Recommends', 'false'],
      ['APT::Install-Suggests', 'false'],
      // As root, apt would download as _apt, who cannot write into a private home cache.
      ['APT::Sandbox::User', 'root'],
      // Our tree has no dpkg lock files; nothing else uses this apt.
      ['Debug::NoLocking', 'true'],
    ];
    return [
      ...entries.map(([k, v]) => `${k} ${aptQuoted(v)};`),
      `APT::Architectures { ${aptQuoted(this.source.arch)}; };`,
      '',
    ].join('\n');
  }

  private apt(args: string[], cwd?: string) {
    return run('apt-get', args, { cwd, env: { APT_CONFIG: join(this.root, 'apt.conf') } });
  }

  private aptCache(args: string[]) {
    return run('apt-cache', args, { env: { APT_CONFIG: join(this.root, 'apt.conf') } });
  }

  private async layout(): Promise<void> {
    const r = this.root;
    for (const d of ['sources.list.d', 'preferences.d', 'apt.conf.d', 'state', 'log', 'lists/partial', 'cache/archives/partial']) {
      await mkdir(join(r, d), { recursive: true });
    }
    const { mirror, suite, components, arch, sources } = this.source;
    const lines = [`deb [arch=${arch} signed-by=${KEYRING}] ${mirror} ${suite} ${components.join(' ')}`];
    if (sources) lines.push(`deb-src [signed-by=${KEYRING}] ${mirror} ${suite} ${components.join(' ')}`);
    await writeIfChanged(join(r, 'sources.list'), lines.join('\n') + '\n');
    // An empty status file: apt believes nothing is installed, so it resolves the full closure.
    await writeIfChanged(join(r, 'state', 'status'), '');
    await writeIfChanged(join(r, 'apt.conf'), this.config());
  }

  /** Lists for every line of our sources (binary, and source when asked), and our apt.conf beside them. */
  private async hasLists(): Promise<boolean> {
    // No lists folder yet: no lists.
    const lists = await readdir(this.lists).catch(() => [] as string[]);
    const wanted = [/_Packages(\.\w+)?$/, ...(this.source.sources ? [/_Sources(\.\w+)?$/] : [])];
    return wanted.every((re) => lists.some((f) => re.test(f))) && (await stat(join(this.root, 'apt.conf')).then(() => true, () => false));
  }

  /** Refreshes the package lists when they are missing or older than maxAgeMs. */
  async ensureLists(maxAgeMs: number, log: (line: string) => void): Promise<void> {
    if (!changesAllowed()) {
      // A dry run resolves from the lists at hand, however old, and never downloads them.
      if (await this.hasLists()) return;
      throw new NeedsChange(`Debian's ${this.source.suite}/${this.source.arch} package lists are not in this cache yet (${this.root})`);
    }
    await this.layout();
    markUsed(this.cacheDir, this.root);
    const stamp = join(this.root, 'lists-updated');
    const age = await stat(stamp).then((s) => Date.now() - s.mtimeMs, () => Infinity);
    if (age < maxAgeMs && (await this.hasLists())) return;
    log(`apt-get update (private ${this.source.suite}/${this.source.arch} lists in ${this.root})`);
    await this.apt(['update']);
    // apt judges its binary caches by mtimes, which missed new source lists once here: start them afresh.
    for (const bin of ['pkgcache.bin', 'srcpkgcache.bin']) await rm(join(this.root, 'cache', bin), { force: true });
    // Answers from the old lists are never asked again: their key names the old lists.
    await rm(this.resolved, { recursive: true, force: true });
    await writeFile(stamp, new Date().toISOString() + '\n');
  }

  /** Where apt's answers to resolve() are kept, by what they depend on. */
  private get resolved(): string {
    return join(this.root, 'resolved');
  }

  /**
   * What apt's answer for these packages depends on: our configuration and the lists it
   * reads (each file's name, size and time, which an update changes).
   */
  private async resolutionKey(packages: readonly string[]): Promise<string> {
    const h = createHash('sha256');
    for (const f of ['apt.conf', 'sources.list', 'preferences']) h.update(`${f}\0`).update(await readFile(join(this.root, f)).catch(() => Buffer.alloc(0)));
    for (const f of (await readdir(this.lists).catch(() => [] as string[])).sort()) {
      const s = await stat(join(this.lists, f));
      if (s.isFile()) h.update(`${f}\0${s.size}\0${s.mtimeMs}\n`);
    }
    return h.update(JSON.stringify(packages)).digest('hex');
  }

  /**
   * The dependency closure of the named packages, with exact versions, as apt would install
   * it. apt takes most of a second per question, and a warm run asks three before it knows
   * its rig's key: the same question on the same lists is answered from the last answer.
   */
  async resolve(packages: readonly string[]): Promise<PackageVersion[]> {
    const memo = join(this.resolved, `${await this.resolutionKey(packages)}.json`);
    const known = await readFile(memo, 'utf8').then(parseResolved, () => undefined);
    if (known) return known;
    const answer = await this.resolveWithApt(packages);
    if (changesAllowed()) {
      await mkdir(this.resolved, { recursive: true });
      await writeFile(memo, JSON.stringify(answer) + '\n');
    }
    return answer;
  }

  private async resolveWithApt(packages: readonly string[]): Promise<PackageVersion[]> {
    const { stdout } = await this.apt(['install', '--simulate', '-q', '-y', ...packages]);
    const resolved: PackageVersion[] = [];
    for (const line of stdout.split('\n')) {
      // "Inst libc6 (2.36-9+deb12u14 Debian:12.13/stable [arm64])"
      const m = /^Inst (\S+) \((\S+) .*\[(\S+)\]\)/.exec(line);
      if (m?.[1] && m[2] && m[3]) resolved.push({ name: m[1], version: m[2], arch: m[3] });
    }
    if (resolved.length === 0) throw new InfraError(`apt resolved no packages for ${packages.join(' ')}:\n${stdout.slice(-2000)}`);
    return resolved.sort((a, b) => a.name.localeCompare(b.name));
  }

  /** Downloads exactly these versions into the private archive cache; returns each .deb's path. */
  async download(packages: readonly PackageVersion[], log: (line: string) => void): Promise<Map<string, string>> {
    log(`downloading ${packages.length} ${this.source.suite}/${this.source.arch} packages into ${this.archives}`);
    await this.apt([
      'install',
      '--download-only',
      '-q',
      '-y',
      ...packages.map((p) => `${p.name}=${p.version}`),
    ]);
    const files = new Map<string, string>();
    const present = new Set(await readdir(this.archives));
    for (const p of packages) {
      // apt names archives name_version_arch.deb with the epoch colon escaped.
      const file = `${p.name}_${p.version.replace(/:/g, '%3a')}_${p.arch}.deb`;
      if (!present.has(file)) throw new InfraError(`apt did not leave ${file} in ${this.archives}`);
      files.set(p.name, join(this.archives, file));
    }
    return files;
  }

  /** The version apt would pick for a binary package (arm64 or arch all). */
  async candidate(name: string): Promise<PackageVersion> {
    const { stdout } = await this.aptCache(['show', '--no-all-versions', name]);
    const version = /^Version: (\S+)$/m.exec(stdout)?.[1];
    const arch = /^Architecture: (\S+)$/m.exec(stdout)?.[1];
    if (!version || !arch) throw new InfraError(`no ${name} in the private ${this.source.suite} lists (${this.root})`);
    return { name, version, arch };
  }

  /** The newest version of a source package in the lists (source lists must be enabled). */
  async sourceVersion(name: string): Promise<string> {
    return (await this.sourceVersions(name))[0]!;
  }

  /** Every version of a source package the lists name, newest first. */
  private async sourceVersions(name: string): Promise<string[]> {
    const { stdout } = await this.aptCache(['showsrc', '--only-source', name]);
    const versions = [...new Set([...stdout.matchAll(/^Version: (\S+)$/gm)].map((m) => m[1]!))];
    if (versions.length === 0) throw new InfraError(`no source package ${name} in the private ${this.source.suite} lists (${this.root})`);
    const sorted: string[] = [];
    for (const v of versions) {
      let at = 0;
      while (at < sorted.length && (await run('dpkg', ['--compare-versions', v, 'lt', sorted[at]!], { allowFailure: true })).exitCode === 0) at++;
      sorted.splice(at, 0, v);
    }
    return sorted;
  }

  /**
   * The newest version of a source package the mirror really serves. A mirror's Sources may
   * name versions whose files it no longer has (measured here: five linux versions listed,
   * the newest two answering 404), so each candidate's .dsc is fetched, newest first, until
   * one comes; `cached` says a version is already unpacked locally, which needs no mirror.
   */
  async servedSourceVersion(name: string, cached: (version: string) => Promise<boolean>): Promise<{ version: string; skipped: string[] }> {
    const skipped: string[] = [];
    const probe = join(this.root, 'probe');
    for (const version of await this.sourceVersions(name)) {
      if (await cached(version)) return { version, skipped };
      await rm(probe, { recursive: true, force: true });
      await mkdir(probe, { recursive: true });
      const got = await run('apt-get', ['source', '--download-only', '--dsc-only', '-q', `${name}=${version}`], {
        cwd: probe,
        env: { APT_CONFIG: join(this.root, 'apt.conf') },
        allowFailure: true,
      });
      await rm(probe, { recursive: true, force: true });
      if (got.exitCode === 0) return { version, skipped };
      skipped.push(version);
    }
    throw new InfraError(`the mirror serves none of the ${name} source versions its ${this.source.suite} lists name (${skipped.join(', ')})`);
  }

  /** Downloads a source package's .dsc and tarballs into dir (no unpacking); returns the .dsc path. */
  async downloadSource(name: string, version: string, dir: string): Promise<string> {
    await mkdir(dir, { recursive: true });
    await this.apt(['source', '--download-only', '-q', `${name}=${version}`], dir);
    const dsc = join(dir, `${name}_${version.replace(/^\d+:/, '')}.dsc`);
    if (!(await stat(dsc).then(() => true, () => false))) throw new InfraError(`apt-get source left no ${dsc}`);
    return dsc;
  }

  /** Downloads one archive (without its dependencies) into the private archive cache; returns its path. */
  async downloadOne(pkg: PackageVersion): Promise<string> {
    await this.layout();
    const file = join(this.archives, `${pkg.name}_${pkg.version.replace(/:/g, '%3a')}_${pkg.arch}.deb`);
    if (await stat(file).then(() => true, () => false)) return file;
    await this.apt(['download', '-q', `${pkg.name}=${pkg.version}`], this.archives);
    if (!(await stat(file).then(() => true, () => false))) throw new InfraError(`apt-get download left no ${file}`);
    return file;
  }
}

/**
 * The lists refreshed when stale; a failed refresh (a mirror down) leaves the old ones in use,
 * since they still name downloadable (or already cached) versions: those are tried before failing.
 */
export async function refreshLists(apt: PrivateApt, log: (line: string) => void): Promise<void> {
  try {
    await apt.ensureLists(LISTS_MAX_AGE_MS, log);
  } catch (cause) {
    if (cause instanceof NeedsChange) throw cause;
    log(`warning: refreshing the private ${apt.source.suite}/${apt.source.arch} lists failed, using the old ones: ${(cause as Error).message}`);
  }
}

/** apt rebuilds its binary caches when these files' mtimes change: leave equal files alone. */
async function writeIfChanged(file: string, text: string): Promise<void> {
  // A file missing (or unreadable) is simply written.
  const old = await readFile(file, 'utf8').catch(() => undefined);
  if (old !== text) await writeFile(file, text);
}

/** A kept answer of resolve(), or undefined when it is not one (then apt is asked again). */
function parseResolved(text: string): PackageVersion[] | undefined {
  try {
    const v: unknown = JSON.parse(text);
    if (!Array.isArray(v) || v.length === 0) return undefined;
    const ok = v.every((p: unknown) => typeof p === 'object' && p !== null && ['name', 'version', 'arch'].every((k) => typeof (p as Record<string, unknown>)[k] === 'string'));
    return ok ? (v as PackageVersion[]) : undefined;
  } catch {
    return undefined;
  }
}
