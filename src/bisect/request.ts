// `xen-pvh-virtio bisect COMPONENT [SCENARIO…] --good REF --bad REF [--repo URL|DIR] [run options]`
// read into a BisectRequest, with everything checkable checked before hours are spent: the
// component, both refs given, the scenarios, and the run each step will make (its options
// resolved as a run resolves them, with a stand-in for the checkout).
import { join, resolve } from 'node:path';
import { OPTIONS, OPTION_NAMES, type OptionName, type RawOptions } from '../config/options.js';
import { DEFAULT_LINUX_REPO, resolvePlan, type PlanEnv } from '../config/plan.js';
import { ConfigError } from '../errors.js';
import type { BisectInput } from './driver.js';
import { COMPONENTS, type Component } from './result.js';

/** The flags bisect has besides a run's options. */
export const BISECT_FLAGS = ['good', 'bad', 'repo'] as const;

export interface BisectRequest extends BisectInput {
  /** The options every step's run gets besides its scenarios, checkout and report paths. */
  runOptions: Partial<Record<OptionName, string>>;
  junitPath: string;
}

const DEFAULT_REPO: Record<Component, string> = {
  xen: OPTIONS['xen-repo'].default,
  qemu: OPTIONS['qemu-repo'].default,
  linux: DEFAULT_LINUX_REPO,
};

/** The run options of the component under test, which bisect itself fills in. */
const treeOptions = (c: Component) => [`${c}-repo`, `${c}-ref`, `${c}-path`] as OptionName[];

/** All a step's run options: its checkout of the component and its own folder for logs and JUnit. */
export function stepOptions(req: Pick<BisectRequest, 'component' | 'runOptions' | 'scenarios'>, worktree: string, dir: string): Partial<Record<OptionName, string>> {
  return {
    ...req.runOptions,
    scenarios: req.scenarios,
    [`${req.component}-path`]: worktree,
    'logs-dir': dir,
    'junit-path': join(dir, 'junit.xml'),
  };
}

/** The step's command line after the CLI's script: `run --name=value …` (the `=` keeps a value that starts with `-` a value). */
export function stepArgs(options: Partial<Record<OptionName, string>>): string[] {
  return ['run', ...Object.entries(options).map(([name, value]) => `--${name}=${value}`)];
}

export function readBisectRequest(words: readonly string[], raw: RawOptions, own: Partial<Record<(typeof BISECT_FLAGS)[number], string>>, where: PlanEnv): BisectRequest {
  const usage = 'xen-pvh-virtio bisect COMPONENT [SCENARIO…] --good REF --bad REF [--repo URL|DIR]';
  const [component, ...scenarioWords] = words;
  if (component === undefined) throw new ConfigError(`bisect needs a component, xen, qemu or linux: ${usage}`);
  if (!(COMPONENTS as readonly string[]).includes(component)) throw new ConfigError(`bisect: unknown component "${component}"; expected xen, qemu or linux: ${usage}`);
  const c = component as Component;
  const given = (name: OptionName) => raw.values[name]?.trim() || undefined;

  const scenarios = scenarioWords.length > 0 ? scenarioWords.join('\n') : given('scenarios');
  if (!scenarios) throw new ConfigError(`bisect needs the scenarios each step runs (SCENARIO… or ${raw.label('scenarios')}): the first bad commit is the first where they fail`);
  for (const flag of ['good', 'bad'] as const) {
    if (!own[flag]?.trim()) {
      throw new ConfigError(`--${flag}: required: the ${flag === 'good' ? 'last known good commit (where the scenarios pass)' : 'first known bad commit (where they fail)'} of ${c}, as a branch, tag or commit id`);
    }
  }
  if (given(`${c}-ref` as OptionName)) {
    throw new ConfigError(`${raw.label(`${c}-ref` as OptionName)}: bisect tests the commits of ${c} between --good and --bad; give those instead`);
  }
  if (given('shard')) throw new ConfigError(`${raw.label('shard')}: bisect runs all the given scenarios at every step`);

  // The repository: --repo, or the component's own repository or checkout input.
  const named = [
    ...(own.repo?.trim() ? [{ label: '--repo', value: own.repo.trim() }] : []),
    ...(['repo', 'path'] as const).flatMap((kind) => {
      const name = `${c}-${kind}` as OptionName;
      return given(name) ? [{ label: raw.label(name), value: given(name)! }] : [];
    }),
  ];
  if (named.length > 1) throw new ConfigError(`${named.map((n) => n.label).join(' and ')} each name the ${c} repository to bisect; give one`);
  const repo = named[0] ?? { label: '--repo', value: DEFAULT_REPO[c] };
  // git would read it as one of its own options.
  if (repo.value.startsWith('-')) throw new ConfigError(`${repo.label} ${repo.value}: not a repository URL or folder`);

  // Xen and QEMU are built from the checkout only by the source rig; a kernel from any rig that builds one.
  const rig = given('rig');
  if (c !== 'linux' && rig !== undefined && rig !== 'source') {
    throw new ConfigError(`${raw.label('rig')} ${rig}: bisecting ${c} builds it from each commit, which only rig source does (bisect's default for ${c})`);
  }
  const runOptions: Partial<Record<OptionName, string>> = {};
  const notPassed = new Set<OptionName>(['scenarios', 'junit-path', 'logs-dir', 'shard', ...treeOptions(c)]);
  for (const name of OPTION_NAMES) {
    const v = raw.values[name];
    if (v !== undefined && !notPassed.has(name)) runOptions[name] = v;
  }
  if (c !== 'linux') runOptions.rig = 'source';
  // Consecutive steps build neighbouring commits: in the kept build tree each recompiles only what its commit changed.
  if (raw.values['incremental-builds'] === undefined) runOptions['incremental-builds'] = 'true';

  const abs = (p: string) => resolve(where.cwd, p);
  const logsDir = abs(given('logs-dir') ?? OPTIONS['logs-dir'].default);
  const junitPath = abs(given('junit-path') ?? OPTIONS['junit-path'].default);
  // The run every step makes, resolved now with a stand-in for the checkout: a scenario, patch
  // or option that would fail each step fails here instead, naming the flag.
  const plan = resolvePlan(
    { values: stepOptions({ component: c, runOptions, scenarios }, join(where.cwd, `${c}-checkout`), join(logsDir, 'step-1')), label: raw.label },
    where,
  );
  // The steps share the cache the clone lives in; also where XEN_PVH_VIRTIO_CACHE pointed.
  runOptions['cache-dir'] = plan.cache.dir;

  return {
    component: c,
    repo: repo.value,
    good: own.good!.trim(),
    bad: own.bad!.trim(),
    labels: { repo: repo.label, good: '--good', bad: '--bad' },
    scenarios,
    cacheDir: plan.cache.dir,
    cwd: where.cwd,
    logsDir,
    junitPath,
    runOptions,
  };
}
