// One validated RunPlan from raw option strings, whichever front end gave them.
import { existsSync, statSync } from 'node:fs';
import { availableParallelism, totalmem } from 'node:os';
import { isAbsolute, relative, resolve } from 'node:path';
import { ConfigError } from '../errors.js';
import { defaultCacheDir } from '../rig/cache.js';
import { publishedSource } from '../rig/published.js';
import { packageVersion } from '../package-root.js';
import { OPTIONS, type OptionName, type RawOptions } from './options.js';
import { splitBuildArgs } from './build-args.js';
import { loadScenarioFile } from './scenario-file.js';
import { DURATION_PROBLEM, parseSizeMiB, readDuration } from './units.js';
import { resolveFiles, resolveScenarioFiles, splitList } from './scenario-list.js';
import { parseShard, selectShard } from './shard.js';
import type { BootPath, DomainRequest, DomainSpec, KernelChoice, RigProvider, RigRequest, RunPlan, Scenario } from './types.js';

export const DOMAIN_DEFAULTS = { memoryMiB: 512, cpus: 1, vpl011: true } as const;

export interface PlanEnv {
  cwd: string;
  env: NodeJS.ProcessEnv;
}

function value(raw: RawOptions, name: OptionName): string | undefined {
  const given = raw.values[name]?.trim();
  if (given !== undefined && given !== '') return given;
  const spec = OPTIONS[name] as { default?: string };
  return spec.default;
}

function choice<T extends string>(raw: RawOptions, name: OptionName): T {
  const v = value(raw, name)!;
  const choices = (OPTIONS[name] as { choices: readonly string[] }).choices;
  if (!choices.includes(v)) throw new ConfigError(`${raw.label(name)}: expected one of ${choices.join(', ')}, got "${v}"`);
  return v as T;
}

function integer(raw: RawOptions, name: OptionName, min: number, max: number): number {
  const v = value(raw, name)!;
  const n = /^\d+$/.test(v) ? Number(v) : NaN;
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new ConfigError(`${raw.label(name)}: expected a whole number from ${min} to ${max}, got "${v}"`);
  }
  return n;
}

/**
 * A duration like `10m`; `0` or empty turns the feature off, and so does a zero with a unit
 * (`0s`), which the option's description promises and nobody could mean otherwise.
 */
function durationOrOff(raw: RawOptions, name: OptionName): number {
  const v = value(raw, name) ?? '0';
  if (v === '0') return 0;
  const d = readDuration(v);
  if (d === undefined) throw new ConfigError(`${raw.label(name)}: expected a duration like 10m, 90s or 1h (or 0 for off), got "${v}"`);
  if ('ms' in d) return d.ms;
  if (d.problem === DURATION_PROBLEM.zero) return 0;
  throw new ConfigError(`${raw.label(name)}: ${d.problem}, got "${v}"`);
}

/** A size in bytes (`10G`, `512M`), or 0 for no limit. */
function sizeOrOff(raw: RawOptions, name: OptionName): number {
  const v = value(raw, name) ?? '0';
  if (v === '0') return 0;
  const mib = parseSizeMiB(v);
  if (mib === undefined || mib <= 0) throw new ConfigError(`${raw.label(name)}: expected a size like 10G or 512M (or 0 for no limit), got "${v}"`);
  return mib * 1024 * 1024;
}

function boolean(raw: RawOptions, name: OptionName): boolean {
  const v = value(raw, name)!.toLowerCase();
  if (v === 'true') return true;
  if (v === 'false') return false;
  throw new ConfigError(`${raw.label(name)}: expected true or false, got "${v}"`);
}

/**
 * How many systems may run at once. Each is an outer QEMU whose two vCPUs keep two host
 * threads busy under TCG, with 2 GiB for its guests: more systems than cores/2 only slow each
 * other (and two on two cores stretch every deadline), so the default is what cores and
 * memory allow, at least 1.
 */
function jobs(raw: RawOptions): number {
  const given = value(raw, 'jobs');
  if (given === undefined || given.trim() === '') return defaultJobs(availableParallelism(), totalmem());
  const n = /^\d+$/.test(given.trim()) ? Number(given.trim()) : NaN;
  if (!Number.isInteger(n) || n < 1 || n > 64) throw new ConfigError(`${raw.label('jobs')}: expected a whole number from 1 to 64, or empty for what the runner allows, got "${given}"`);
  return n;
}

export function defaultJobs(cores: number, memoryBytes: number): number {
  return Math.max(1, Math.min(Math.floor(cores / 2), Math.floor(memoryBytes / 4 / 1024 ** 3)));
}

/** Comparable text for a domain property (windows are objects holding bigints). */
function same(v: unknown): string {
  return JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? `0x${x.toString(16)}` : x));
}

/** One boot serves every selected scenario, so their domains must agree. */
export function mergeDomains(scenarios: readonly Scenario[]): DomainSpec[] {
  const merged = new Map<string, { spec: DomainRequest; from: Partial<Record<keyof DomainRequest, string>> }>();
  for (const scenario of scenarios) {
    for (const d of scenario.domains) {
      const entry = merged.get(d.name) ?? { spec: { name: d.name, domid: d.domid }, from: {} };
      for (const key of ['memoryMiB', 'cpus', 'vpl011', 'virtioPci', 'virtioPciWindows', 'virtioPciNode', 'bootargs'] as const) {
        const mine = d[key];
        if (mine === undefined) continue;
        const theirs = entry.spec[key];
        if (theirs !== undefined && same(theirs) !== same(mine)) {
          throw new ConfigError(
            `scenarios ${entry.from[key]} and ${scenario.file} disagree on ${d.name}'s ${key} (${same(theirs)} vs ${same(mine)}); one boot serves all selected scenarios, so run them separately`,
          );
        }
        (entry.spec as Record<string, unknown>)[key] = mine;
        entry.from[key] = scenario.file;
      }
      merged.set(d.name, entry);
    }
  }
  const domains = [...merged.values()].map(({ spec }) => ({ ...DOMAIN_DEFAULTS, ...spec }) as DomainSpec).sort((a, b) => a.domid - b.domid);
  domains.forEach((d, i) => {
    if (d.domid !== i + 1) {
      throw new ConfigError(
        `domains must be numbered from domU1 without gaps (Xen numbers dom0less domains in order), but the selected scenarios declare ${domains.map((x) => x.name).join(', ')}`,
      );
    }
  });
  return domains;
}

export function resolvePlan(raw: RawOptions, where: PlanEnv): RunPlan {
  const files = resolveScenarioFiles(splitList(value(raw, 'scenarios') ?? ''), where.cwd, raw.label('scenarios'));
  const scenarios = files.map((f) => loadScenarioFile(f, relative(where.cwd, f).startsWith('..') ? f : relative(where.cwd, f)));
  const seen = new Map<string, string>();
  for (const s of scenarios) {
    const other = seen.get(s.name);
    if (other) throw new ConfigError(`${raw.label('scenarios')}: two scenarios are named ${s.name} (${other} and ${s.file})`);
    seen.set(s.name, s.file);
  }

  const provider = choice<RigProvider>(raw, 'rig');
  const rig = {
    provider,
    ...optional(raw, 'xen-repo', 'xenRepo'),
    ...optional(raw, 'xen-ref', 'xenRef'),
    ...optional(raw, 'qemu-repo', 'qemuRepo'),
    ...optional(raw, 'qemu-ref', 'qemuRef'),
    ...localTree(raw, 'xen-path', 'xenPath', ['xen-repo', 'xen-ref'], provider, where.cwd),
    ...localTree(raw, 'qemu-path', 'qemuPath', ['qemu-repo', 'qemu-ref'], provider, where.cwd),
    ...sourceFolder(raw, 'qemu-subprojects', 'qemuSubprojects', provider, where.cwd),
    ...kernelRequest(raw, provider, where.cwd),
    ...optional(raw, 'kas-file', 'kasFile'),
    ...optional(raw, 'rig-path', 'rigPath'),
    xenPatches: patchFiles(raw, 'xen-patches', where.cwd),
    qemuPatches: patchFiles(raw, 'qemu-patches', where.cwd),
    ...buildArgs(raw, 'xen-configure-args', 'xenConfigureArgs', provider),
    ...buildArgs(raw, 'xen-make-args', 'xenMakeArgs', provider),
    ...buildArgs(raw, 'qemu-configure-args', 'qemuConfigureArgs', provider),
    published: publishedSource({
      download: boolean(raw, 'rig-download'),
      ...optional(raw, 'rig-mirror', 'mirror'),
      mirrorLabel: raw.label('rig-mirror'),
      env: where.env,
      version: packageVersion(),
    }),
    labels: { rigPath: raw.label('rig-path'), kasFile: raw.label('kas-file'), xenPath: raw.label('xen-path'), qemuPath: raw.label('qemu-path'), linuxPath: raw.label('linux-path'), qemuSubprojects: raw.label('qemu-subprojects') },
  };
  // Paths are read later, from another directory perhaps: make them absolute now; URLs stay as given.
  if (rig.rigPath && !/^[a-z][a-z0-9+.-]*:/i.test(rig.rigPath)) rig.rigPath = resolve(where.cwd, rig.rigPath);
  if (rig.kasFile) rig.kasFile = resolve(where.cwd, rig.kasFile);
  if (provider === 'prebuilt' && !rig.rigPath) throw new ConfigError(`${raw.label('rig-path')}: required when rig is prebuilt`);

  // The whole selection must agree on its domains even when this job runs a share of it: a
  // matrix then fails alike on every runner, as one job running them all would.
  const domains = mergeDomains(scenarios);
  const spec = parseShard(value(raw, 'shard'), raw.label('shard'));
  const shard = spec && selectShard(scenarios, spec);

  const abs = (p: string) => (isAbsolute(p) ? p : resolve(where.cwd, p));
  return {
    scenarios: shard ? shard.scenarios : scenarios,
    domains: shard ? mergeDomains(shard.scenarios) : domains,
    ...(shard ? { shard: shard.plan } : {}),
    rig: { ...rig, ...incrementalBuilds(raw, rig) },
    cache: { enabled: boolean(raw, 'cache'), dir: abs(value(raw, 'cache-dir') ?? defaultCacheDir(where.env)), maxBytes: sizeOrOff(raw, 'cache-max-size') },
    snapshot: boolean(raw, 'snapshot'),
    boot: choice<BootPath>(raw, 'boot'),
    sshPort: integer(raw, 'ssh-port', 0, 65535),
    jobs: jobs(raw),
    timeoutMinutes: integer(raw, 'timeout-minutes', 1, 24 * 60),
    keepAliveOnFailureMs: durationOrOff(raw, 'keep-alive-on-failure'),
    failOnWarnings: boolean(raw, 'fail-on-warnings'),
    junitPath: abs(value(raw, 'junit-path')!),
    logsDir: abs(value(raw, 'logs-dir')!),
    labels: { junitPath: raw.label('junit-path'), logsDir: raw.label('logs-dir') },
  };
}

/** Patch files in the order given; a glob expands in name order; a missing file is an error. */
function patchFiles(raw: RawOptions, name: OptionName, cwd: string): string[] {
  const entries = splitList(value(raw, name) ?? '');
  return entries.length === 0 ? [] : resolveFiles(entries, cwd, raw.label(name), 'patch file');
}

/** The user's extra arguments for a build of rig: source, absent when none are given (the component keys stay as they were). */
function buildArgs<K extends string>(raw: RawOptions, name: OptionName, key: K, provider: RigProvider): Partial<Record<K, string[]>> {
  const v = raw.values[name]?.trim();
  if (!v) return {};
  if (provider !== 'source') throw new ConfigError(`${raw.label(name)}: extra build arguments need rig: source (rig is ${provider})`);
  const args = splitBuildArgs(v, raw.label(name));
  return args.length === 0 ? {} : ({ [key]: args } as Record<K, string[]>);
}

/** Incremental builds are of the trees a run builds: rig source's Xen and QEMU, and a kernel from a git ref or local tree. */
function incrementalBuilds(raw: RawOptions, rig: Pick<RigRequest, 'provider' | 'linuxRepo' | 'linuxPath'>): { incrementalBuilds?: true } {
  if (!boolean(raw, 'incremental-builds')) return {};
  if (rig.provider !== 'source' && rig.linuxRepo === undefined && rig.linuxPath === undefined) {
    throw new ConfigError(`${raw.label('incremental-builds')}: nothing to build incrementally: rig ${rig.provider} builds no tree of yours (rig: source builds Xen and QEMU; linux-path or linux-repo a kernel)`);
  }
  return { incrementalBuilds: true };
}

/**
 * Which kernel: a linux-* input means one built from source; rig: source builds one by
 * default (grants need CONFIG_XEN_VIRTIO, which Debian's kernels lack), rig: debian uses
 * Debian's unless told otherwise; yocto and prebuilt rigs bring their own.
 */
function kernelRequest(raw: RawOptions, provider: RigProvider, cwd: string): Pick<RigRequest, 'kernel' | 'linuxRepo' | 'linuxRef' | 'linuxPath'> {
  const given = (n: OptionName) => raw.values[n]?.trim() || undefined;
  const explicit = given('kernel');
  const linux = (['linux-repo', 'linux-ref', 'linux-path'] as const).filter((n) => given(n));
  if (explicit !== undefined) choice<KernelChoice>(raw, 'kernel');
  if (provider === 'yocto' || provider === 'prebuilt') {
    const named = [...(explicit ? ['kernel' as const] : []), ...linux];
    if (named.length) throw new ConfigError(`${named.map((n) => raw.label(n)).join(' and ')}: the ${provider} rig brings its own kernel; use rig: debian or source`);
    return {};
  }
  if (explicit === 'debian' && linux.length) {
    throw new ConfigError(`${linux.map((n) => raw.label(n)).join(' and ')} name a kernel to build, but ${raw.label('kernel')} is debian`);
  }
  if (given('linux-path') && (given('linux-repo') || given('linux-ref'))) {
    throw new ConfigError(`${raw.label('linux-path')} and ${[given('linux-repo') ? raw.label('linux-repo') : '', given('linux-ref') ? raw.label('linux-ref') : ''].filter(Boolean).join(' and ')} each name the source to build; give the path or the repository and ref, not both`);
  }
  const kernel: KernelChoice = (explicit as KernelChoice | undefined) ?? (linux.length || provider === 'source' ? 'source' : 'debian');
  return {
    kernel,
    ...(given('linux-repo') || given('linux-ref') ? { linuxRepo: given('linux-repo') ?? DEFAULT_LINUX_REPO, linuxRef: given('linux-ref') ?? 'master' } : {}),
    ...(given('linux-path') ? { linuxPath: resolve(cwd, given('linux-path')!) } : {}),
  };
}

/** Upstream Linux, for a linux-ref given without a repository. */
export const DEFAULT_LINUX_REPO = 'https://git.kernel.org/pub/scm/linux/kernel/git/torvalds/linux.git';

/**
 * A local source tree instead of a repository and ref: only for rig: source, never together
 * with the repository or ref it replaces (which one would the run test?).
 */
function localTree<K extends string>(raw: RawOptions, name: OptionName, key: K, replaces: OptionName[], provider: RigProvider, cwd: string): Partial<Record<K, string>> {
  const v = raw.values[name]?.trim();
  if (!v) return {};
  if (provider !== 'source') throw new ConfigError(`${raw.label(name)}: a local source tree needs rig: source (rig is ${provider})`);
  const clash = replaces.filter((r) => raw.values[r]?.trim());
  if (clash.length > 0) {
    throw new ConfigError(`${raw.label(name)} and ${clash.map((c) => raw.label(c)).join(' and ')} each name the source to build; give the path or the repository and ref, not both`);
  }
  return { [key]: resolve(cwd, v) } as Record<K, string>;
}

/** A folder only the source provider reads, made absolute; it must exist (its contents are checked when used). */
function sourceFolder<K extends string>(raw: RawOptions, name: OptionName, key: K, provider: RigProvider, cwd: string): Partial<Record<K, string>> {
  const v = raw.values[name]?.trim();
  if (!v) return {};
  if (provider !== 'source') throw new ConfigError(`${raw.label(name)}: only rig: source builds QEMU from a tree that needs it (rig is ${provider})`);
  const path = resolve(cwd, v);
  if (!existsSync(path) || !statSync(path).isDirectory()) throw new ConfigError(`${raw.label(name)} = ${v}: not a folder`);
  return { [key]: path } as Record<K, string>;
}

function optional<K extends string>(raw: RawOptions, name: OptionName, key: K): Partial<Record<K, string>> {
  const v = value(raw, name);
  return v === undefined ? {} : ({ [key]: v } as Record<K, string>);
}
