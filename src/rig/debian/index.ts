// The debian provider: the embedded default rig, built from Debian packages and Debian
// source packages (debian/build.ts), or taken from the bundle this release published for the
// same key.
import { ensureHostTools } from '../../host/prerequisites.js';
import { checkCachedRig, obtainKeyed, rigDir } from '../cache.js';
import type { RigProviderModule } from '../provider.js';
import { takePublished } from '../published.js';
import { buildDebianRig, debianRecipe, ensureDebianComponents, planDebianRig } from './build.js';
import { patchPaths } from './patches.js';

export const debianProvider = {
  recipe: (request) => ({
    ...debianRecipe(undefined, request),
    patches: { xen: patchPaths('xen', request.xenPatches), qemu: patchPaths('qemu', request.qemuPatches) },
  }),

  async obtain(request, opts, mayBuild) {
    const { log } = opts;
    await ensureHostTools(['rig-debian'], { log });
    const plan = await planDebianRig(opts.cacheDir, request, log);
    return obtainKeyed(plan.key, opts, mayBuild, async (tmp) => {
      const published = await takePublished(plan.key, request.published, tmp, opts);
      if (published) return published;
      // Components (hypervisor, backend QEMU) are cached on their own: a new rig key rebuilds only what changed.
      const components = await ensureDebianComponents(opts.cacheDir, plan, log);
      log(`building debian rig ${plan.key.slice(0, 12)} in ${rigDir(opts.cacheDir, plan.key)}`);
      return buildDebianRig(tmp, plan, components, log);
    });
  },

  async check(request, opts) {
    const plan = await planDebianRig(opts.cacheDir, request, opts.log);
    return checkCachedRig(opts.cacheDir, plan.key);
  },
} satisfies RigProviderModule;
