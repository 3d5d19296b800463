// A private apt for arm64 packages, living entirely under the cache directory: its own
// sources, lists, empty dpkg status and archive cache, so the host's dpkg database and
// apt configuration are never read or written.
import { readFileSync } from 'node:fs';
import { mkdir, readFile, readdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { run } from '../../host/exec.js';
import { InfraError } from '../../errors.js';

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

export class PrivateApt {
  readonly root: string;

  constructor(
    cacheDir: string,
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
      ...entries.map(([k, v]) => `${k} "${v}";`),
      `APT::Architectures { "${this.source.arch}"; };`,
      '',
    ].join('\n');
  }

  private apt(args: string[]) {
    return run('apt-get', args, { env: { APT_CONFIG: join(this.root, 'apt.conf') } });
  }

  private async layout(): Promise<void> {
    const r = this.root;
    for (const d of ['sources.list.d', 'preferences.d', 'apt.conf.d', 'state', 'log', 'lists/partial', 'cache/archives/partial']) {
      await mkdir(join(r, d), { recursive: true });
    }
    const { mirror, suite, components, arch } = this.source;
    await writeIfChanged(join(r, 'sources.list'), `deb [arch=${arch} signed-by=${KEYRING}] ${mirror} ${suite} ${components.join(' ')}\n`);
    // An empty status file: apt believes nothing is installed, so it resolves the full closure.
    await writeIfChanged(join(r, 'state', 'status'), '');
    await writeIfChanged(join(r, 'apt.conf'), this.config());
  }

  /** Refreshes the package lists when they are missing or older than maxAgeMs. */
  async ensureLists(maxAgeMs: number, log: (line: string) => void): Promise<void> {
    await this.layout();
    const stamp = join(this.root, 'lists-updated');
    const age = await stat(stamp).then((s) => Date.now() - s.mtimeMs, () => Infinity);
    const lists = await readdir(this.lists).catch(() => [] as string[]);
    if (age < maxAgeMs && lists.some((f) => /_Packages(\.\w+)?$/.test(f))) return;
    log(`apt-get update (private ${this.source.suite}/${this.source.arch} lists in ${this.root})`);
    await this.apt(['update']);
    await writeFile(stamp, new Date().toISOString() + '\n');
  }

  /** The dependency closure of the named packages, with exact versions, as apt would install it. */
  async resolve(packages: readonly string[]): Promise<PackageVersion[]> {
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
    log(`downloading ${packages.length} arm64 packages into ${this.archives}`);
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
}

/** apt rebuilds its binary caches when these files' mtimes change: leave equal files alone. */
async function writeIfChanged(file: string, text: string): Promise<void> {
  const old = await readFile(file, 'utf8').catch(() => undefined);
  if (old !== text) await writeFile(file, text);
}
