// The source provider: a rig built from the user's Xen and QEMU (git refs or local trees) on
// Debian's userland.
import { InfraError } from '../../errors.js';
import { ensureHostTools } from '../../host/prerequisites.js';
import { obtainKeyed, rigDir } from '../cache.js';
import type { RigProviderModule } from '../provider.js';
import { buildSourceRig, ensureSourceComponents, planSourceRig, sourceRecipe } from './build.js';
import { SOURCE_TREES_UNDER_TEST } from './recipe.js';

export const sourceProvider = {
  recipe: (request) => sourceRecipe(request),

  async obtain(request, opts, mayBuild) {
    const { log } = opts;
    await ensureHostTools(['rig-debian', 'rig-source'], { log });
    let plan;
    try {
      plan = await planSourceRig(opts.cacheDir, request, log);
    } catch (cause) {
      // Looking in the cache (plan) must not fail on a repository it cannot reach right now.
      if (mayBuild || !(cause instanceof InfraError)) throw cause;
      log(`source rig: not looked up in the cache: ${cause.message}`);
      return undefined;
    }
    const got = await obtainKeyed(plan.key, opts, mayBuild, async (tmp) => {
      // Components are cached on their own: a new Linux package rebuilds no Xen, a new QEMU commit no Xen.
      const components = await ensureSourceComponents(opts.cacheDir, plan, log, { onBuild: opts.onBuild });
      log(`building source rig ${plan.key.slice(0, 12)} in ${rigDir(opts.cacheDir, plan.key)}`);
      return buildSourceRig(tmp, plan, components, log);
    });
    // A cached rig was built from the trees under test once: each is a build that passed, from the cache.
    if (got?.cacheHit) {
      for (const component of SOURCE_TREES_UNDER_TEST) opts.onBuild?.({ component, status: 'passed', cached: true, durationMs: 0 });
    }
    return got;
  },
} satisfies RigProviderModule;
