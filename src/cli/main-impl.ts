// The CLI: the same core as the action, with flags named like the action's inputs.
import { resolve } from 'node:path';
import { builtInScenarioDir, builtInScenarios, loadScenarioFile, resolvePlan, scenarioJsonSchema } from '../config/index.js';
import type { RunPlan } from '../config/types.js';
import { ConfigError, ExitCode } from '../errors.js';
import { packageVersion } from '../package-root.js';
import { ensureHostTools } from '../host/prerequisites.js';
import { NeedsChange, withoutChanges } from '../host/dry-run.js';
import { describeBootMedia, planBootMedia } from '../image/index.js';
import { checkRig, exportRig, findCachedRig, obtainRig, rigRecipe } from '../rig/index.js';
import { writeReports } from '../report/index.js';
import { executePlan, exitCodeFor, exitCodeForError, type RunHooks } from '../run.js';
import { counts } from '../scenario/result.js';
import { optionsHelp, parseCommandLine } from './args.js';
import { describePlan, describeRecipe } from './plan-text.js';
import { cancelOnSignals } from '../cancel.js';
import { redactCredentials } from '../secrets.js';
import { formatBytes, listEntries, pruneCache } from '../cache/index.js';
import { mergeCommand } from './merge.js';
import { bisectCommand } from './bisect.js';

const USAGE = `xen-pvh-virtio: prove that dom0less Xen on ARM64 gives a domU working virtio-pci
devices served by a QEMU backend in dom0.

Usage:
  xen-pvh-virtio run [SCENARIO…] [options]     boot the rig once and run the scenarios
  xen-pvh-virtio plan [SCENARIO…] [options]    print what a run would do, run nothing
  xen-pvh-virtio rig build [options]           build (or find in the cache) the rig
  xen-pvh-virtio rig export DIR|FILE.tar.gz    write that rig as a bundle for --rig prebuilt
  xen-pvh-virtio rig verify [options]          check the cached rig (or --rig-path) against
                                               its manifest; names every damaged file
  xen-pvh-virtio merge DIR|FILE…               join a matrix's shard reports (--shard i/n runs:
                                               their folders, JUnit files, result.json files)
                                               into one JUnit report (--junit-path) and summary
                                               (in --logs-dir); exits as a run would
  xen-pvh-virtio bisect COMPONENT [SCENARIO…] --good REF --bad REF [--repo URL|DIR]
                                               find the first commit of xen, qemu or linux
                                               where the scenarios fail: builds and runs
                                               each step (bisect --help: flags, exit codes)
  xen-pvh-virtio scenarios list                list the built-in scenarios
  xen-pvh-virtio scenarios schema              print the scenario JSON Schema
  xen-pvh-virtio cache [list] [options]        what the local cache holds: size, last use
  xen-pvh-virtio cache prune [options]         remove the least recently used entries until
                                               the cache fits --cache-max-size
  xen-pvh-virtio setup                         install the host tools a run needs (apt)
  xen-pvh-virtio --version                     print the version

SCENARIO is a built-in name or a path/glob of a scenario YAML file; given on the
command line, they replace --scenarios.

Exit codes: 0 all passed (or skipped), 1 a scenario failed, 2 usage or configuration
error, 3 infrastructure error.

Options (each is also the action input of the same name):
`;

export interface Io {
  out(text: string): void;
  err(text: string): void;
  cwd: string;
  env: NodeJS.ProcessEnv;
}

function hooksFor(io: Io): RunHooks {
  const start = Date.now();
  const stamp = () => `[${((Date.now() - start) / 1000).toFixed(1).padStart(6)}s]`;
  return {
    info: (line) => io.err(`${stamp()} ${line}\n`),
    warn: (line) => io.err(`${stamp()} warning: ${line}\n`),
    group: async (title, fn) => {
      io.err(`${stamp()} == ${title}\n`);
      return fn();
    },
    remoteCache: false,
  };
}

function planFrom(words: string[], parsed: ReturnType<typeof parseCommandLine>, io: Io): RunPlan {
  const raw = parsed.raw;
  if (words.length > 0) raw.values.scenarios = words.join('\n');
  return resolvePlan(raw, { cwd: io.cwd, env: io.env });
}

export async function cliMain(argv: readonly string[], given: Io): Promise<number> {
  // Everything the CLI prints passes here: a repository URL may carry a token.
  const io: Io = { ...given, out: (t) => given.out(redactCredentials(t)), err: (t) => given.err(redactCredentials(t)) };
  try {
    // bisect has flags of its own (--good, --bad, --repo) besides a run's: it reads its command line itself.
    if (argv[0] === 'bisect') return await bisectCommand(argv.slice(1), io);
    const parsed = parseCommandLine(argv);
    if (parsed.version) {
      io.out(`${packageVersion()}\n`);
      return ExitCode.passed;
    }
    const [command, ...rest] = parsed.words;
    if (parsed.help || command === undefined || command === 'help') {
      io.out(USAGE + optionsHelp() + '\n');
      return command === undefined && !parsed.help ? ExitCode.usage : ExitCode.passed;
    }
    switch (command) {
      case 'run': {
        const plan = planFrom(rest, parsed, io);
        const cancel = cancelOnSignals(io);
        const result = await executePlan(plan, { ...hooksFor(io), signal: cancel.signal }).finally(cancel.dispose);
        writeReports(plan, result);
        const c = counts(result);
        const shard = result.properties.shard ? ` (shard ${result.properties.shard})` : '';
        io.err(`${c.passed} passed, ${c.failed} failed, ${c.error} errored, ${c.skipped} skipped${shard} — JUnit ${plan.junitPath}, logs ${plan.logsDir}\n`);
        const warnings = new Set(result.scenarios.flatMap((x) => (x.warnings ?? []).map((w) => `${w.domain}: ${w.line}${w.expected ? ' (expected)' : ''}`)));
        for (const w of warnings) io.err(`kernel/Xen warning: ${w}\n`);
        for (const b of (result.builds ?? []).filter((x) => x.status === 'failed')) {
          io.err(`build ${b.component} failed${b.step ? ` at ${b.step}` : ''}: ${b.message ?? ''}${b.logFile ? ` (log ${b.logFile})` : ''}\n`);
        }
        if (result.fatal) io.err(`${result.fatal.kind?.toLowerCase() ?? (result.fatal.status === 'error' ? 'infrastructure error' : 'failure')}: ${result.fatal.message}\n`);
        return exitCodeFor(result);
      }
      case 'plan': {
        const plan = planFrom(rest, parsed, io);
        const sections = [{ title: 'Rig recipe', body: describeRecipe(rigRecipe(plan.rig, plan.cache.dir)) }];
        // A dry run: what it cannot know without downloading or installing, it says, and leaves.
        let unknown: string | undefined;
        const found = plan.cache.enabled
          ? await withoutChanges(() => findCachedRig(plan.rig, { cacheDir: plan.cache.dir, log: () => undefined })).catch((e: unknown) => {
              if (!(e instanceof NeedsChange)) throw e;
              unknown = e.message;
              return undefined;
            })
          : undefined;
        if (unknown) {
          sections.push({ title: 'Boot media', body: `Not known without changing this machine: ${unknown}. plan downloads and installs nothing; \`xen-pvh-virtio rig build\` (or a run) does.` });
        } else if (found) {
          const media = planBootMedia({ rig: found.rig, domains: plan.domains, boot: plan.boot, workDir: '<work>', sshPort: plan.sshPort });
          sections.push({ title: `Boot media (rig ${found.key.slice(0, 12)}, cached)`, body: describeBootMedia(media) });
        } else {
          sections.push({
            title: 'Boot media',
            body: 'The rig is not in the local cache yet: after `xen-pvh-virtio rig build`, plan also prints the device tree, boot script, disk layout and QEMU command line.',
          });
        }
        io.out(describePlan(plan, sections));
        return ExitCode.passed;
      }
      case 'rig': {
        const isBuild = rest[0] === 'build' && rest.length === 1;
        const isVerify = rest[0] === 'verify' && rest.length === 1;
        const isExport = rest[0] === 'export' && rest.length === 2;
        if (!isBuild && !isVerify && !isExport) {
          throw new ConfigError(`unknown rig command: ${rest.join(' ') || '(none)'}; expected: rig build | rig verify | rig export DIR|FILE.tar.gz`);
        }
        const plan = planFrom([], parsed, io);
        const hooks = hooksFor(io);
        if (isVerify) {
          const checked = await checkRig(plan.rig, { cacheDir: plan.cache.dir, log: hooks.info });
          io.out(`${checked.shownAs}\n`);
          io.err(`rig ${checked.key} intact: ${checked.files} files match the manifest\n`);
          return ExitCode.passed;
        }
        const got = await obtainRig(plan.rig, { cacheDir: plan.cache.dir, log: hooks.info, warn: hooks.warn, remoteCache: false, useCache: plan.cache.enabled });
        io.err(`rig ${got.key} ${got.cacheHit ? '(cache hit)' : '(built)'}\n`);
        io.out(`${isExport ? await exportRig(got.rig, resolve(io.cwd, rest[1]!), hooks.info) : got.rig.dir}\n`);
        return ExitCode.passed;
      }
      case 'scenarios': {
        if (rest[0] === 'list' && rest.length === 1) {
          for (const name of builtInScenarios()) {
            const s = loadScenarioFile(`${builtInScenarioDir()}/${name}.yaml`);
            io.out(`${name}\t${s.description ?? ''}\n`);
          }
          return ExitCode.passed;
        }
        if (rest[0] === 'schema' && rest.length === 1) {
          io.out(JSON.stringify(scenarioJsonSchema(), null, 2) + '\n');
          return ExitCode.passed;
        }
        throw new ConfigError(`unknown scenarios command: ${rest.join(' ') || '(none)'}; expected: scenarios list | scenarios schema`);
      }
      case 'cache': {
        const plan = planFrom([], parsed, io);
        if (rest.length === 0 || (rest[0] === 'list' && rest.length === 1)) {
          const entries = await listEntries(plan.cache.dir);
          const total = entries.reduce((n, e) => n + e.bytes, 0);
          for (const e of [...entries].reverse()) {
            io.out(`${formatBytes(e.bytes).padStart(10)}  ${e.lastUsed.toISOString().slice(0, 16).replace('T', ' ')}  ${e.name}  (${e.what})\n`);
          }
          const budget = plan.cache.maxBytes > 0 ? `budget ${formatBytes(plan.cache.maxBytes)} (cache-max-size)` : 'no budget (cache-max-size 0)';
          io.out(`${formatBytes(total).padStart(10)}  in all, ${entries.length} entries in ${plan.cache.dir}; ${budget}\n`);
          return ExitCode.passed;
        }
        if (rest[0] === 'prune' && rest.length === 1) {
          if (plan.cache.maxBytes === 0) throw new ConfigError('cache prune needs a budget: --cache-max-size 0 means no limit');
          const r = await pruneCache(plan.cache.dir, plan.cache.maxBytes, { log: (line) => io.err(`${line}\n`) });
          io.err(`cache: ${formatBytes(r.before)} → ${formatBytes(r.after)} (budget ${formatBytes(plan.cache.maxBytes)}), ${r.removed.length} entries removed${r.kept.length ? `, ${r.kept.length} in use kept` : ''}\n`);
          return ExitCode.passed;
        }
        throw new ConfigError(`unknown cache command: ${rest.join(' ')}; expected: cache [list] | cache prune`);
      }
      case 'merge':
        return mergeCommand(rest, parsed.raw, io);
      case 'setup': {
        await ensureHostTools(['boot', 'rig-debian', 'rig-source', 'tests'], { log: (line) => io.err(`${line}\n`) });
        return ExitCode.passed;
      }
      default:
        throw new ConfigError(`unknown command: ${command}; see --help`);
    }
  } catch (e) {
    const code = exitCodeForError(e);
    const kind = code === ExitCode.usage ? 'error' : 'infrastructure error';
    io.err(`${kind}: ${(e as Error).message}\n`);
    return code;
  }
}
