// The components not under test stay put for the whole bisection: a step resolves its refs
// when it starts, and `master` of QEMU may move during hours of Xen steps, which would make
// two steps differ in more than the commit being tested. So each ref the steps would build
// another component from is resolved once, up front, to the commit it names now.
import { OPTIONS, type OptionName } from '../config/options.js';
import { DEFAULT_LINUX_REPO } from '../config/plan.js';
import { resolveRef } from '../rig/build/git.js';
import { FULL_ID } from './git.js';
import type { BisectRequest } from './request.js';
import { COMPONENTS, short } from './result.js';

/** The other components a step builds from a repository and ref (not from a path, not from Debian's packages). */
function builtFromRefs(req: Pick<BisectRequest, 'component' | 'runOptions'>): ('xen' | 'qemu' | 'linux')[] {
  const o = req.runOptions;
  return COMPONENTS.filter((c) => {
    if (c === req.component || o[`${c}-path` as OptionName]?.trim()) return false;
    if (c === 'linux') return Boolean(o['linux-repo']?.trim() || o['linux-ref']?.trim());
    return o.rig === 'source';
  });
}

/** The request with those refs replaced by commit ids; a ref that does not exist is a ConfigError naming it. */
export async function pinOtherComponents(req: BisectRequest, log: (line: string) => void): Promise<BisectRequest> {
  const runOptions = { ...req.runOptions };
  for (const c of builtFromRefs(req)) {
    const repoInput = `${c}-repo` as OptionName;
    const refInput = `${c}-ref` as OptionName;
    const defaults = OPTIONS as Record<string, { default?: string }>;
    // Linux given by its ref alone is upstream's, as a run takes it.
    const repo = runOptions[repoInput]?.trim() || defaults[repoInput]?.default || DEFAULT_LINUX_REPO;
    const ref = runOptions[refInput]?.trim() || defaults[refInput]?.default || 'master';
    if (FULL_ID.test(ref)) continue;
    const resolved = await resolveRef({ repoInput, refInput, repo, ref });
    runOptions[refInput] = resolved.commit;
    log(`${c} stays at ${short(resolved.commit)} (${ref} now) for every step`);
  }
  return { ...req, runOptions };
}
