// The component recipe: one shape for everything a rig builds and caches on its own (the
// hypervisor, Xen's tools, the backend QEMU, Linux), whichever provider asks for it. Its
// inputs give its key; fetch() puts its source tree in place and its patches go on top;
// make() configures and compiles into out/; the result is installed under
// <cache>/components/<name>/<key>, where the next run finds it. ensureComponents() runs any
// number of recipes the same way, so no provider writes that sequence again.
import { appendFile, mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { recipeKey } from '../cache.js';
import { ensureToolchain, toolchainRecord, type Toolchain, type ToolchainPlan } from '../toolchain/index.js';
import { ComponentBuild, findComponent, type Component, type ComponentRecord } from './component.js';
import { BuildFailure, type BuildReport } from './failure.js';
import { materialize, materializeText, type TreeOrigin } from './origin.js';
import { applyPatchesLogged, type PatchFile } from './patches.js';

/** What a component's key is computed from; `component` is its name (and its cache folder). */
export interface ComponentInputs {
  component: string;
}

export interface ComponentPlan<I extends ComponentInputs = ComponentInputs> {
  key: string;
  inputs: I;
}

export function planComponent<I extends ComponentInputs>(inputs: I): ComponentPlan<I> {
  return { key: recipeKey(inputs), inputs };
}

export interface FetchContext {
  cacheDir: string;
  /** The build's work folder and logs (logs/fetch.log, logs/patch.log, one log per step). */
  build: ComponentBuild;
  log: (line: string) => void;
}

export interface MakeContext extends FetchContext {
  /** The source tree, fetched and patched. */
  tree: string;
  /** Where make() leaves the component's files (an empty folder in the work folder). */
  out: string;
  toolchain: Toolchain;
  /** What the component records of the toolchain it was built with. */
  host: Record<string, string>;
}

/** What make() says of the component it made; the rest of component.json comes from the plan. */
export type Made = Pick<ComponentRecord, 'files' | 'features' | 'built'>;

export interface ComponentRecipe {
  plan: ComponentPlan;
  /** The tree's name in log lines: "xen: applied …", "qemu: fetching …". */
  label: string;
  /** Said after "building the <name> component <key>", e.g. where its source comes from. */
  describe?: string;
  /**
   * The user's tree, the one the run tests (the source provider's Xen and QEMU): a failed build
   * step is then the product failing (a BuildFailure), and the build is reported as a test case.
   */
  underTest?: boolean;
  /** Applied to the fetched tree, in order. A recipe whose tree is shared (a pristine cached source) has none. */
  patches: readonly PatchFile[];
  /** The source tree: fetched, copied or unpacked; in build.work unless it is shared and left unwritten. */
  fetch(ctx: FetchContext): Promise<string>;
  make(ctx: MakeContext): Promise<Made>;
}

/** A recipe whose tree is fetched and patched, ready for make(). */
export interface PreparedComponent {
  recipe: ComponentRecipe;
  build: ComponentBuild;
  tree: string;
}

/**
 * The tree of a git ref or local tree in build.work/src, fetched or copied. git's transcript is
 * appended to logs/fetch.log, never written over, so a second fetch keeps the first one's output.
 */
export async function fetchOrigin(build: ComponentBuild, label: string, origin: TreeOrigin, log: (line: string) => void): Promise<string> {
  const tree = join(build.work, 'src');
  log(materializeText(label, origin));
  await build.phase('fetch', () => materialize(origin, tree, (text) => appendFile(join(build.logs, 'fetch.log'), text)));
  return tree;
}

/** Fetches and patches a recipe's tree: a bad ref or patch fails here, before anything compiles. */
export async function prepareComponent(cacheDir: string, recipe: ComponentRecipe, log: (line: string) => void): Promise<PreparedComponent> {
  const build = await ComponentBuild.start(cacheDir, recipe.plan.inputs.component, recipe.plan.key, log, { underTest: recipe.underTest === true, label: recipe.label });
  try {
    const tree = await recipe.fetch({ cacheDir, build, log });
    await applyPatchesLogged(build.logs, tree, recipe.patches, recipe.label, log);
    return { recipe, build, tree };
  } catch (cause) {
    // Nothing was built: the fetched tree is only in the way of the next attempt.
    await rm(build.work, { recursive: true, force: true });
    throw cause;
  }
}

/** The component a plan names, if the cache holds it. */
export function findPlanned(cacheDir: string, plan: ComponentPlan): Promise<Component | undefined> {
  return findComponent(cacheDir, plan.inputs.component, plan.key);
}

/** The components, by the caller's names; undefined recipes (a component not wanted) give undefined. */
export type Components<R> = { [K in keyof R]: R[K] extends ComponentRecipe ? Component : Component | undefined };

/** Told about each component build of a tree under test: from the cache, built, or failed. */
export interface BuildHooks {
  onBuild?: (report: BuildReport) => void;
}

/**
 * Every recipe's component, from the cache or made now, in the order given (a component that
 * needs another comes after it). Every missing component's source is fetched and patched
 * before any build starts, so a patch that does not apply fails in seconds, not after a
 * fifteen-minute build; the toolchain is unpacked only when something is to be built.
 * hooks.onBuild hears of each tree under test, a BuildFailure included (which is then thrown).
 */
export async function ensureComponents<R extends Record<string, ComponentRecipe | undefined>>(
  cacheDir: string,
  recipes: R,
  toolchainPlan: ToolchainPlan,
  log: (line: string) => void,
  hooks: BuildHooks = {},
): Promise<Components<R>> {
  const report = (recipe: ComponentRecipe, r: Omit<BuildReport, 'component'>) => {
    if (recipe.underTest) hooks.onBuild?.({ component: recipe.label, ...r });
  };
  const found: Record<string, Component | undefined> = {};
  const missing: [string, ComponentRecipe][] = [];
  /** Each missing component's time so far (its fetch and patches), by name. */
  const spent = new Map<string, number>();
  for (const [name, recipe] of Object.entries(recipes)) {
    if (!recipe) continue;
    const t0 = Date.now();
    const cached = await findPlanned(cacheDir, recipe.plan);
    if (cached) {
      log(`${recipe.plan.inputs.component} component cache hit: ${cached.dir}`);
      report(recipe, { status: 'passed', cached: true, durationMs: Date.now() - t0 });
    } else missing.push([name, recipe]);
    found[name] = cached;
  }
  if (missing.length === 0) return found as Components<R>;

  const prepared: [string, PreparedComponent][] = [];
  // Trees fetched but not built are only in the way of the next attempt.
  const dropUnbuilt = async () => {
    for (const [, p] of prepared) await rm(p.build.work, { recursive: true, force: true });
  };
  try {
    for (const [name, recipe] of missing) {
      const t0 = Date.now();
      prepared.push([name, await prepareComponent(cacheDir, recipe, log)]);
      spent.set(name, Date.now() - t0);
    }
  } catch (cause) {
    await dropUnbuilt();
    throw cause;
  }
  const toolchain = await ensureToolchain(cacheDir, toolchainPlan, log);
  const host = toolchainRecord(toolchain);
  while (prepared.length > 0) {
    const [name, { recipe, build, tree }] = prepared[0]!;
    const { plan } = recipe;
    log(`building the ${plan.inputs.component} component ${plan.key.slice(0, 12)}${recipe.describe ? ` ${recipe.describe}` : ''}`);
    const t0 = Date.now();
    const took = () => (spent.get(name) ?? 0) + Date.now() - t0;
    let made: Component;
    try {
      const out = join(build.work, 'out');
      await mkdir(out, { recursive: true });
      const record = await recipe.make({ cacheDir, build, log, tree, out, toolchain, host });
      made = await build.finish(cacheDir, out, { inputs: plan.inputs, ...record, host });
    } catch (cause) {
      if (cause instanceof BuildFailure) report(recipe, cause.report(took()));
      // A failed build's own tree stays for diagnosis (its error names it); the others go.
      prepared.shift();
      await dropUnbuilt();
      throw cause;
    }
    prepared.shift();
    report(recipe, { status: 'passed', cached: false, durationMs: took() });
    log(`${plan.inputs.component} component ready: ${made.dir}`);
    found[name] = made;
  }
  return found as Components<R>;
}
