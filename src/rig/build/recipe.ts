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
import { BuildTree, treeRoot, type ReusedTree } from './build-tree.js';
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
  /** When make() runs in the component's persistent build tree: what changed since its last build. */
  reused?: ReusedTree;
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
  /**
   * Build in the component's persistent tree (build-tree.ts), synced to this build's sources,
   * instead of the fresh copy: a build rebuilds only what changed since the last one there.
   */
  reuseTree?: boolean;
  /** Applied to the fetched tree, in order. A recipe whose tree is shared (a pristine cached source) has none. */
  patches: readonly PatchFile[];
  /** The source tree: fetched, copied or unpacked; in build.work unless it is shared and left unwritten. */
  fetch(ctx: FetchContext): Promise<string>;
  /**
   * The user's own tree as it lies (a local checkout: its folder and the files that make it),
   * when there is one: with reuseTree and no patches, it is synced into the build tree
   * straight from there, without a copy first.
   */
  localSources?(): { root: string; files: readonly string[] } | undefined;
  make(ctx: MakeContext): Promise<Made>;
  /**
   * At its turn, before its tree is fetched: the component made from what is already built
   * (the components before it and the cache), or undefined to build it. A recipe with this
   * hook is fetched at its turn, not with the others up front: a tree it never needs is
   * never copied.
   */
  reuse?(ctx: Omit<MakeContext, 'tree' | 'reused'>): Promise<Made | undefined>;
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
  return prepareIn(cacheDir, await startBuild(cacheDir, recipe, log), recipe, log);
}

function startBuild(cacheDir: string, recipe: ComponentRecipe, log: (line: string) => void): Promise<ComponentBuild> {
  return ComponentBuild.start(cacheDir, recipe.plan.inputs.component, recipe.plan.key, log, { underTest: recipe.underTest === true, label: recipe.label });
}

async function prepareIn(cacheDir: string, build: ComponentBuild, recipe: ComponentRecipe, log: (line: string) => void): Promise<PreparedComponent> {
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
 * fifteen-minute build; a recipe that may reuse what the builds before it made (recipe.reuse)
 * is fetched at its turn, when it cannot, and a local tree with nothing to patch that goes
 * into a build tree (recipe.localSources) is never fetched: it is synced where it lies. The
 * toolchain is unpacked only when something is to be built.
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

  // Fetched and patched up front, by name; a recipe that may reuse another build waits for its turn.
  const prepared = new Map<string, PreparedComponent>();
  // Trees fetched but not built are only in the way of the next attempt.
  const dropUnbuilt = async () => {
    for (const p of prepared.values()) await rm(p.build.work, { recursive: true, force: true });
    prepared.clear();
  };
  try {
    for (const [name, recipe] of missing) {
      if (recipe.reuse || directSources(recipe)) continue;
      const t0 = Date.now();
      prepared.set(name, await prepareComponent(cacheDir, recipe, log));
      spent.set(name, Date.now() - t0);
    }
  } catch (cause) {
    await dropUnbuilt();
    throw cause;
  }
  const toolchain = await ensureToolchain(cacheDir, toolchainPlan, log);
  const host = toolchainRecord(toolchain);
  for (const [name, recipe] of missing) {
    const { plan } = recipe;
    log(`building the ${plan.inputs.component} component ${plan.key.slice(0, 12)}${recipe.describe ? ` ${recipe.describe}` : ''}`);
    const t0 = Date.now();
    const took = () => (spent.get(name) ?? 0) + Date.now() - t0;
    let made: Component | undefined;
    let held: BuildTree | undefined;
    let reused: ReusedTree | undefined;
    try {
      let ready = prepared.get(name);
      const build = ready?.build ?? (await startBuild(cacheDir, recipe, log));
      // Fetched and patched now, if not up front.
      const prepare = async () => {
        if (!ready) prepared.set(name, (ready = await prepareIn(cacheDir, build, recipe, log)));
        return ready;
      };
      if (!ready && recipe.reuse) {
        const out = join(build.work, 'out');
        await mkdir(out, { recursive: true });
        const record = await recipe.reuse({ cacheDir, build, log, out, toolchain, host });
        if (record) made = await build.finish(cacheDir, out, { inputs: plan.inputs, ...record, host });
      }
      if (!made) {
        let where: string | undefined;
        if (recipe.reuseTree) {
          const taken = await BuildTree.take(cacheDir, plan.inputs.component);
          if (taken instanceof BuildTree) {
            held = taken;
            const direct = ready ? undefined : directSources(recipe);
            if (direct) {
              log(`${recipe.label}: syncing ${direct.files.length} files of ${direct.root} into the build tree`);
              reused = await build.phase('sync the build tree', () => taken.sync(direct.root, direct.files));
            } else {
              const { tree } = await prepare();
              reused = await build.phase('sync the build tree', () => taken.sync(tree));
              // The sources are in the build tree now; the copy is only in the way.
              await rm(tree, { recursive: true, force: true });
            }
            log(reusedText(recipe.label, treeRoot(cacheDir, plan.inputs.component), reused));
            where = taken.dir;
          } else log(`${recipe.label}: the build tree ${treeRoot(cacheDir, plan.inputs.component)} is in use by process ${taken.busy}: building in a fresh copy`);
        }
        where ??= (await prepare()).tree;
        const out = join(build.work, 'out');
        await mkdir(out, { recursive: true });
        const record = await recipe.make({ cacheDir, build, log, tree: where, out, toolchain, host, ...(reused ? { reused } : {}) });
        if (reused) record.built += `; built incrementally in the persistent build tree (${reusedSummary(reused)})`;
        made = await build.finish(cacheDir, out, { inputs: plan.inputs, ...record, host });
        await held?.ended('built', reused!, plan.key);
      }
    } catch (cause) {
      // The tree's own build error leaves a whole tree; anything else (a kill, a full disk) one the next build empties.
      if (cause instanceof BuildFailure) await held?.ended('failed', reused!, plan.key);
      if (cause instanceof BuildFailure) report(recipe, cause.report(took()));
      // A failed build's own tree stays for diagnosis (its error names it); the others go.
      prepared.delete(name);
      await dropUnbuilt();
      throw cause;
    } finally {
      await held?.release();
    }
    prepared.delete(name);
    report(recipe, { status: 'passed', cached: false, durationMs: took() });
    log(`${plan.inputs.component} component ready: ${made.dir}`);
    found[name] = made;
  }
  return found as Components<R>;
}

/** The user's tree to sync straight into a build tree: only with reuseTree and nothing to patch. */
function directSources(recipe: ComponentRecipe): { root: string; files: readonly string[] } | undefined {
  return recipe.reuseTree && recipe.patches.length === 0 ? recipe.localSources?.() : undefined;
}

function reusedSummary(r: ReusedTree): string {
  if (r.fresh) return 'first build there';
  return `${r.changed.size} source file${r.changed.size === 1 ? '' : 's'} changed since its build of component ${r.lastKey?.slice(0, 12) ?? '?'}`;
}

/** "xen: build tree …: reused, 3 source files changed since …: a.c, b.c, c.h". */
function reusedText(label: string, root: string, r: ReusedTree): string {
  if (r.fresh) return `${label}: build tree ${root}: a full build (first use, or its last build did not end)`;
  const names = [...r.changed].sort();
  const shown = names.length > 8 ? `${names.slice(0, 8).join(', ')} …` : names.join(', ');
  return `${label}: build tree ${root}: reused, ${reusedSummary(r)}${names.length > 0 ? `: ${shown}` : ''}`;
}
