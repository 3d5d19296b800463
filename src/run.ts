// The one core behind the action and the CLI: a RunPlan in, a RunResult out, with the
// report written and nothing left running. Front ends only adapt inputs and outputs.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mergeDomains } from './config/plan.js';
import { prepareOutputPaths } from './config/output-paths.js';
import type { RunPlan, Scenario } from './config/types.js';
import { ConfigError, ExitCode, InfraError, ProductFailure } from './errors.js';
import { ensureHostTools, runNeeds } from './host/prerequisites.js';
import { withLogGroups, type LogGroup } from './host/log-groups.js';
import { withStop } from './host/stop.js';
import { BuildFailure, obtainRig } from './rig/index.js';
import type { Rig } from './rig/manifest.js';
import { counts, type BuildResult, type RunResult, type ScenarioResult } from './scenario/result.js';
import { erroredScenario, failedScenario, missingCapabilities, skippedScenario } from './scenario/outcomes.js';
import { withOneRetry } from './scenario/retry.js';
import { errorKind, runScenario } from './scenario/runner.js';
import { judgeWarnings } from './scenario/warnings.js';
import { formatBytes, markUsed, pruneCache } from './cache/index.js';
import { keepAlive } from './forensics/index.js';
import { SavedSystems, SystemPool, type Lane } from './system/index.js';

export interface RunHooks {
  info(line: string): void;
  warn(line: string): void;
  /** Folds a phase's output (an Actions log group; a heading in the CLI). */
  group<T>(title: string, fn: () => Promise<T>): Promise<T>;
  /** Folds each rig build step (Actions); absent, build steps are plain progress lines (CLI). */
  buildGroup?: LogGroup;
  /** Whether the Actions cache may be used for rigs. */
  remoteCache: boolean;
  /** Told about each rig obtained, so the action's post step can save it to the cache. */
  onRig?(rig: Rig, key: string, cacheHit: boolean): void;
  /** Told about a booted system saved to the local cache, so the post step can save it too. */
  onBootedState?(key: string, dir: string): void;
  /** Told about each long-lived process, so the action's post step can stop leftovers. */
  onProcess?(pid: number): void;
  /** Aborted on SIGINT/SIGTERM: the machine is stopped and the reports still written. */
  signal?: AbortSignal;
}

export async function executePlan(plan: RunPlan, hooks: RunHooks): Promise<RunResult> {
  const start = Date.now();
  const cpuAtStart = process.cpuUsage();
  const result: RunResult = { scenarios: [], phases: [], timeline: [], properties: { boot: plan.boot, 'rig.request': plan.rig.provider } };
  prepareOutputPaths(plan);

  let systems: SystemPool | undefined;
  // The run's own deadline and a cancel both end what runs: a rig build step at once, and the
  // machines, so that whatever scenario step is running fails at once (its console closes).
  // The reports are still written.
  let stopReason: string | undefined;
  const halt = new AbortController();
  const stop = (why: string) => {
    stopReason ??= why;
    halt.abort(why);
    void systems?.closeAll();
  };
  const deadline = setTimeout(() => stop(`timeout-minutes (${plan.timeoutMinutes}) passed`), plan.timeoutMinutes * 60_000 - (Date.now() - start));
  const onAbort = () => stop(`cancelled (${String(hooks.signal?.reason ?? 'signal')})`);
  hooks.signal?.addEventListener('abort', onAbort);
  /** Every way out before the scenarios' own try/finally: a timer left behind keeps the process alive for an hour. */
  const release = () => {
    clearTimeout(deadline);
    hooks.signal?.removeEventListener('abort', onAbort);
  };

  let rig: Rig;
  /** The builds of the trees under test, as the rig stage reports them. */
  const builds: BuildResult[] = [];
  try {
    // Every host tool of the whole run (build, boot, saving the booted system) is checked and
    // installed at once, before an 11-minute build rather than after it.
    await hooks.group('host tools', () => ensureHostTools(runNeeds(plan.rig.provider), { log: hooks.info }));
    // timeout-minutes bounds the whole run, the rig build included.
    const obtain = () =>
      withStop(halt.signal, () =>
        obtainRig(plan.rig, {
          cacheDir: plan.cache.dir,
          log: hooks.info,
          warn: hooks.warn,
          remoteCache: hooks.remoteCache && plan.cache.enabled,
          useCache: plan.cache.enabled,
          onBuild: (b) => builds.push(b),
        }),
      );
    // Where build steps fold on their own, the stage is not one group (Actions groups do not
    // nest), so a ten-minute build shows which step it is in.
    let got;
    if (hooks.buildGroup) {
      hooks.info(`rig: ${plan.rig.provider}`);
      got = await withLogGroups(hooks.buildGroup, obtain);
    } else got = await hooks.group(`rig: ${plan.rig.provider}`, obtain);
    rig = got.rig;
    if (builds.length > 0) result.builds = builds;
    result.rig = { key: got.key, provider: rig.manifest.provider, versions: rig.manifest.versions, cacheHit: got.cacheHit };
    if (plan.cache.enabled) markUsed(plan.cache.dir, rig.dir);
    result.phases.push({ name: 'rig ready', atMs: Date.now() - start });
    result.timeline.push({ section: 'rig', name: got.cacheHit ? 'rig (cached)' : 'rig (built)', startMs: 0, endMs: Date.now() - start });
    hooks.onRig?.(rig, got.key, got.cacheHit);
  } catch (e) {
    release();
    if (e instanceof ConfigError) throw e;
    if (e instanceof BuildFailure && !stopReason) return buildFailed(plan, result, builds, e, Date.now() - start);
    const message = stopReason ?? `rig ${plan.rig.provider}: ${(e as Error).message}`;
    result.fatal = { status: 'error', message };
    result.scenarios = plan.scenarios.map((s) => erroredScenario(s, message));
    return result;
  }

  const runnable: Scenario[] = [];
  for (const scenario of plan.scenarios) {
    const missing = missingCapabilities(scenario, rig.manifest.capabilities);
    if (missing.length > 0) {
      const reason = `the ${rig.manifest.provider} rig lacks ${missing.join(', ')}`;
      hooks.info(`${scenario.name}: skipped (${reason})`);
      result.scenarios.push(skippedScenario(scenario, reason));
    } else runnable.push(scenario);
  }
  if (runnable.length === 0) {
    release();
    return result;
  }
  let workDir: string;
  try {
    workDir = await mkdtemp(join(process.env.RUNNER_TEMP || tmpdir(), 'xen-pvh-virtio-'));
  } catch (e) {
    release();
    throw e;
  }

  const phase = (name: string, at = Date.now()) => {
    if (!result.phases.some((p) => p.name === name)) result.phases.push({ name, atMs: at - start });
    result.phases.sort((a, b) => a.atMs - b.atMs);
  };
  // The timeline picture: what the run spent its time on, in order.
  const span = (section: string, name: string, from: number, to = Date.now()) => {
    result.timeline.push({ section, name, startMs: from - start, endMs: to - start });
  };
  let saved: SavedSystems | undefined;
  try {
    // Only the scenarios that will run shape the boot: a skipped virtio-pci scenario must
    // not give the domU a host bridge that this rig cannot serve.
    const domains = mergeDomains(runnable);
    saved = plan.snapshot
      ? await SavedSystems.prepare(
          { plan, domains, rig, rigKey: result.rig?.key },
          {
            info: hooks.info,
            warn: hooks.warn,
            remoteCache: hooks.remoteCache && plan.cache.enabled,
            ...(hooks.onBootedState ? { onBootedState: hooks.onBootedState } : {}),
          },
        )
      : undefined;
    // Log groups fold one system's output at a time: several systems at once print headings instead.
    const group = <T>(title: string, fn: () => Promise<T>): Promise<T> => {
      if (systems && systems.lanes.length > 1) {
        hooks.info(`== ${title}`);
        return fn();
      }
      return hooks.group(title, fn);
    };
    systems = new SystemPool(
      { plan, domains, rig, scenarios: runnable, workDir, saved, stop: halt.signal },
      { info: hooks.info, group, ...(hooks.onProcess ? { onProcess: hooks.onProcess } : {}), phase, span },
      plan.jobs,
    );
    const pool = systems;
    if (pool.lanes.length > 1) result.properties.jobs = String(pool.lanes.length);
    if (pool.lanes.length > 1) hooks.info(`${pool.lanes.length} systems at once (jobs ${plan.jobs}), ${pool.batches.length} batches of scenarios`);
    /** Set once a scenario's boot failed, its retry's too: later scenarios do not boot again. */
    let bootBroken: ScenarioResult | undefined;
    const attempt = async (lane: Lane, i: number, scenario: Scenario, n: 1 | 2): Promise<{ done: ScenarioResult; bootFailed: boolean }> => {
      let system;
      try {
        // A retry gets a new system: whatever broke the first attempt stays with the old one.
        system = await lane.forScenario(i, { fresh: n > 1 });
      } catch (e) {
        if (e instanceof ConfigError) throw e;
        return { done: bootFailed(scenario, stopReason ?? `boot: ${(e as Error).message}`, e), bootFailed: true };
      }
      if (stopReason) return { done: erroredScenario(scenario, stopReason), bootFailed: false };
      const drivers = system.driversFor(scenario.name);
      const t0 = Date.now();
      const done = await group(`scenario ${scenario.name}${n > 1 ? ' (retry)' : ''}`, () => runScenario(scenario, drivers, { progress: hooks.info, phase }));
      span('scenarios', n > 1 ? `${scenario.name} (retry)` : scenario.name, t0);
      if (stopReason) annotate(done, stopReason);
      done.system = system.origin === 'restore' ? 'restored' : 'booted';
      done.systemNumber = system.number;
      judgeWarnings(done, system.takeWarnings(), scenario, plan.failOnWarnings);
      // What a failed scenario left behind (a panicked domU, a dead sshd) must not fail the next one.
      if (done.status !== 'passed') lane.spoilCurrent();
      return { done, bootFailed: false };
    };
    const runOne = async (lane: Lane, i: number, scenario: Scenario) => {
      if (stopReason || bootBroken) {
        result.scenarios.push(erroredScenario(scenario, stopReason ?? bootBroken!.steps[0]!.message!));
        return;
      }
      let lastBootFailed = false;
      const done = await withOneRetry(
        scenario.name,
        async (n) => {
          const r = await attempt(lane, i, scenario, n);
          lastBootFailed = r.bootFailed;
          return r.done;
        },
        { info: hooks.info, mayRetry: () => !stopReason },
      );
      result.scenarios.push(done);
      if (lastBootFailed) {
        bootBroken = done;
        result.fatal = { status: done.status === 'failed' ? 'failed' : 'error', message: done.steps[0]!.message! };
      }
      const kept = lane.current;
      if (plan.keepAliveOnFailureMs > 0 && kept && (done.status === 'failed' || done.status === 'error') && !stopReason) {
        await keepAlive(kept.keepable(), plan.keepAliveOnFailureMs, { signal: halt.signal, info: hooks.info, scenario: scenario.name });
      }
    };
    // Each lane takes the next batch as it frees up; a lane that throws stops the others from
    // taking more, and the run reports it once every lane has finished what it had.
    let nextBatch = 0;
    let thrown: { error: unknown } | undefined;
    const work = async (lane: Lane) => {
      while (!thrown && nextBatch < pool.batches.length) {
        const batch = pool.batches[nextBatch++]!;
        for (const i of batch) await runOne(lane, i, runnable[i]!);
      }
    };
    await Promise.all(
      pool.lanes.map((lane) =>
        work(lane).catch((error: unknown) => {
          thrown ??= { error };
        }),
      ),
    );
    if (thrown) throw thrown.error;
    phase('scenarios end');
  } catch (e) {
    if (e instanceof ConfigError) throw e;
    const message = stopReason ?? `boot: ${(e as Error).message}`;
    result.fatal = { status: e instanceof ProductFailure ? 'failed' : 'error', message };
    for (const scenario of runnable.filter((s) => !result.scenarios.some((r) => r.name === s.name))) {
      result.scenarios.push(
        e instanceof ProductFailure ? failedScenario(scenario, message, e.detail.consoleTail) : erroredScenario(scenario, message, (e as InfraError).detail?.consoleTail),
      );
    }
  } finally {
    release();
    await systems?.closeAll();
    // A booted system saved in this run is kept for the next one, whatever the scenarios did:
    // it was saved before any of them touched it.
    if (!stopReason) await saved?.keep().catch((e: unknown) => hooks.warn(`booted system not cached: ${(e as Error).message}`));
    Object.assign(result.properties, saved?.facts());
    await rm(workDir, { recursive: true, force: true });
    await keepCacheWithinBudget(plan, new Date(start), hooks);
  }
  if (stopReason && !result.fatal) result.fatal = { status: 'error', message: stopReason };
  // The harness's own CPU (QEMU and the guests are other processes), for the benchmark.
  const cpu = process.cpuUsage(cpuAtStart);
  result.properties['harness.cpu.user'] = `${(cpu.user / 1e6).toFixed(3)}s`;
  result.properties['harness.cpu.system'] = `${(cpu.system / 1e6).toFixed(3)}s`;
  const order = (name: string) => plan.scenarios.findIndex((s) => s.name === name);
  result.scenarios.sort((a, b) => order(a.name) - order(b.name));
  return result;
}

/** The cache-max-size budget, applied once the run is done with the cache; what this run used stays. */
async function keepCacheWithinBudget(plan: RunPlan, runStart: Date, hooks: RunHooks): Promise<void> {
  if (!plan.cache.enabled || plan.cache.maxBytes === 0) return;
  try {
    const r = await pruneCache(plan.cache.dir, plan.cache.maxBytes, { keepUsedSince: runStart, log: hooks.info });
    if (r.after > plan.cache.maxBytes) {
      hooks.warn(`the cache holds ${formatBytes(r.after)}, over its budget of ${formatBytes(plan.cache.maxBytes)} (cache-max-size), with only what this run used left`);
    }
  } catch (e) {
    hooks.warn(`cache not pruned: ${(e as Error).message}`);
  }
}

/**
 * The trees under test did not build: the product failed. The build is a failed test case and
 * every scenario is skipped, saying why; the run's failure is the build's first error.
 */
function buildFailed(plan: RunPlan, result: RunResult, builds: BuildResult[], e: BuildFailure, atMs: number): RunResult {
  // A provider that hears of its builds has reported this one already; the error carries it either way.
  if (!builds.some((b) => b.component === e.component && b.status === 'failed')) builds.push(e.report());
  result.builds = builds;
  result.fatal = { status: 'failed', kind: 'Build failure', message: `rig ${plan.rig.provider}: ${e.headline}` };
  result.timeline.push({ section: 'rig', name: 'rig (build failed)', startMs: 0, endMs: atMs });
  const reason = `the rig did not build: build ${e.component} failed`;
  result.scenarios = plan.scenarios.map((s) => skippedScenario(s, reason));
  return result;
}

/** A scenario whose boot failed: a product failure if Xen or a kernel died, else an error of its kind. */
function bootFailed(scenario: Scenario, message: string, e: unknown): ScenarioResult {
  if (e instanceof ProductFailure) return failedScenario(scenario, message, e.detail.consoleTail);
  const done = erroredScenario(scenario, message, (e as InfraError).detail?.consoleTail);
  done.steps[0]!.errorKind = errorKind(e);
  return done;
}

/** A scenario cut short by a cancel or the run's deadline says so in its first non-passing step. */
function annotate(scenario: ScenarioResult, reason: string): void {
  const step = scenario.steps.find((s) => s.status !== 'passed');
  if (step && step.status !== 'skipped') {
    step.status = 'error';
    step.message = `${reason}: ${step.message ?? ''}`;
    scenario.status = 'error';
  }
}

/** A product failure outranks an infrastructure error: it is a real regression. */
export function exitCodeFor(result: RunResult): number {
  const c = counts(result);
  if (c.failed > 0 || result.builds?.some((b) => b.status === 'failed')) return ExitCode.failed;
  if (c.error > 0 || result.fatal) return ExitCode.infrastructure;
  return ExitCode.passed;
}

export function exitCodeForError(e: unknown): number {
  if (e instanceof ConfigError) return ExitCode.usage;
  if (e instanceof ProductFailure) return ExitCode.failed;
  return ExitCode.infrastructure;
}
