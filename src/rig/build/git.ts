// Git refs for the components built from a repository (Xen, QEMU, Linux): a ref (branch, tag or full commit id) is resolved to a
// commit id with `git ls-remote` before anything is fetched, so the cache key is known
// cheaply; a shallow fetch of exactly that commit happens only when something must be built.
import { mkdir } from 'node:fs/promises';
import { ConfigError, InfraError } from '../../errors.js';
import { run } from '../../host/exec.js';
import { redactCredentials } from '../../secrets.js';

/** Which user input a repository and ref came from, so errors can name it. */
export interface GitInput {
  /** The input names, e.g. xen-repo and xen-ref. */
  repoInput: string;
  refInput: string;
  repo: string;
  ref: string;
}

export interface ResolvedRef extends GitInput {
  commit: string;
  /** How the ref was found: the full ref name (refs/heads/…, refs/tags/…) or 'commit'. */
  via: string;
}

const FULL_COMMIT = /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/;

// git must never stop to ask for a password or a host key: a CI job has no one to answer.
export const GIT_ENV = { GIT_TERMINAL_PROMPT: '0', GIT_ASKPASS: 'true', SSH_ASKPASS: 'true', LC_ALL: 'C' };

function named(input: GitInput): string {
  return `input ${input.repoInput} (--${input.repoInput}) = ${redactCredentials(input.repo)}`;
}

/** git's own words when a repository or a ref cannot be had, for the error message. */
function said(result: { stdout: string; stderr: string }): string {
  return redactCredentials((result.stderr.trim() || result.stdout.trim()).split('\n').slice(-8).join('\n'));
}

/** Errors git gives when the repository itself is wrong (as opposed to a network outage). */
const NO_SUCH_REPO = /does not appear to be a git repository|not found|No such file or directory|does not exist|Could not read from remote repository|not a git repository/i;

/**
 * The commit a ref names in a repository. A full commit id is taken as it is (it is checked
 * when fetched); a branch or tag is looked up with ls-remote, tags peeled to their commit.
 */
export async function resolveRef(input: GitInput): Promise<ResolvedRef> {
  if (!input.ref.trim()) throw new ConfigError(`input ${input.refInput} (--${input.refInput}) is empty`);
  if (FULL_COMMIT.test(input.ref)) return { ...input, commit: input.ref, via: 'commit' };
  if (/^[0-9a-f]{7,39}$/.test(input.ref)) {
    // ls-remote only knows ref names; an abbreviated id cannot be resolved without a full clone.
    const asRef = await lsRemote(input);
    const hit = pick(asRef, input.ref);
    if (hit) return { ...input, commit: hit.commit, via: hit.name };
    throw new ConfigError(`input ${input.refInput} (--${input.refInput}) = ${input.ref}: an abbreviated commit id cannot be fetched shallowly; give the full 40-character id, a branch or a tag`);
  }
  const refs = await lsRemote(input);
  const hit = pick(refs, input.ref);
  if (!hit) {
    throw new ConfigError(`input ${input.refInput} (--${input.refInput}) = ${input.ref}: no such branch or tag in ${redactCredentials(input.repo)} (and not a full commit id)`);
  }
  return { ...input, commit: hit.commit, via: hit.name };
}

async function lsRemote(input: GitInput): Promise<Map<string, string>> {
  const result = await run('git', ['ls-remote', '--', input.repo], { env: GIT_ENV, allowFailure: true });
  if (result.exitCode !== 0) {
    const message = `${named(input)}: git ls-remote failed (exit ${result.exitCode}):\n${said(result)}`;
    throw NO_SUCH_REPO.test(said(result)) ? new ConfigError(message) : new InfraError(message);
  }
  const refs = new Map<string, string>();
  for (const line of result.stdout.split('\n')) {
    const [commit, name] = line.trim().split(/\s+/);
    if (commit && name) refs.set(name, commit);
  }
  return refs;
}

/** The ref a short name means, in git's own order of preference; tags are peeled. */
function pick(refs: Map<string, string>, ref: string): { name: string; commit: string } | undefined {
  const candidates = ref.startsWith('refs/') || ref === 'HEAD' ? [ref] : [`refs/heads/${ref}`, `refs/tags/${ref}`];
  for (const name of candidates) {
    const peeled = refs.get(`${name}^{}`);
    if (peeled) return { name, commit: peeled };
    const commit = refs.get(name);
    if (commit) return { name, commit };
  }
  return undefined;
}

/**
 * A working tree of exactly the resolved commit in dir (created), fetched with depth 1.
 * Branches and tags are fetched by name (any server allows that) and must still point at
 * the resolved commit; a commit id is fetched by id (protocol v2 servers allow reachable ids).
 */
export async function fetchCommit(resolved: ResolvedRef, dir: string, logFile?: (text: string) => Promise<void>): Promise<void> {
  await mkdir(dir, { recursive: true });
  const git = (args: string[]) => run('git', ['-c', 'advice.detachedHead=false', ...args], { cwd: dir, env: GIT_ENV, allowFailure: true });
  const transcript: string[] = [];
  const step = async (args: string[]) => {
    const result = await git(args);
    transcript.push(redactCredentials(`$ git ${args.join(' ')}\nexit ${result.exitCode}\n${result.stdout}${result.stderr}`));
    return result;
  };
  try {
    await step(['init', '-q']);
    const what = resolved.via === 'commit' ? resolved.commit : resolved.via;
    const fetched = await step(['fetch', '--depth', '1', '--no-tags', '--', resolved.repo, what]);
    if (fetched.exitCode !== 0) {
      const whose = resolved.via === 'commit' ? `input ${resolved.refInput} (--${resolved.refInput}) = ${resolved.ref}` : named(resolved);
      throw new ConfigError(`${whose}: git fetch --depth 1 ${redactCredentials(resolved.repo)} ${what} failed (exit ${fetched.exitCode}):\n${said(fetched)}`);
    }
    const head = (await step(['rev-parse', 'FETCH_HEAD^{commit}'])).stdout.trim();
    if (head !== resolved.commit) {
      throw new InfraError(`${named(resolved)}: ${resolved.via} moved from ${resolved.commit} to ${head} while the rig was being planned; run again`);
    }
    const checkout = await step(['checkout', '-q', '--detach', head]);
    if (checkout.exitCode !== 0) throw new InfraError(`git checkout ${head} in ${dir} failed:\n${said(checkout)}`);
  } finally {
    await logFile?.(transcript.join('\n'));
  }
}
