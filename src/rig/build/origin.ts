// Where a component's source tree comes from: a git ref, resolved to a commit and fetched
// with depth 1, or a local tree (the user's checkout), copied. Everything downstream (keys,
// the manifest's versions and origins, the JUnit properties) asks this module, so the two
// kinds never need to be told apart elsewhere.
import type { FileOrigin } from '../manifest.js';
import { redactCredentials } from '../../secrets.js';
import { fetchCommit, type ResolvedRef } from './git.js';
import { copyTree, describeTree, isCommitTree, type LocalTree } from './tree.js';

export type TreeOrigin = { kind: 'git'; ref: ResolvedRef } | { kind: 'path'; tree: LocalTree };

/** The part of a component's key that names the tree: the commit id, or the local tree's identity. */
export function originKey(o: TreeOrigin): { commit: string } | { tree: string } {
  if (o.kind === 'git') return { commit: o.ref.commit };
  return isCommitTree(o.tree) ? { commit: o.tree.commit } : { tree: o.tree.id };
}

/** One phrase for logs and the manifest: "<repo> <ref> = <commit>" or the local tree described. */
export function originText(o: TreeOrigin): string {
  return o.kind === 'git' ? `${redactCredentials(o.ref.repo)} ${o.ref.ref} = ${o.ref.commit}` : describeTree(o.tree);
}

/** The tree, in dir: fetched, or copied from the user's. */
export async function materialize(o: TreeOrigin, dir: string, fetchLog: (text: string) => Promise<void>): Promise<void> {
  if (o.kind === 'git') await fetchCommit(o.ref, dir, fetchLog);
  else await copyTree(o.tree, dir);
}

/** A local tree's folder and the files that make it (what materialize would copy); nothing for a fetched ref. */
export function localSourcesOf(o: TreeOrigin): { root: string; files: readonly string[] } | undefined {
  return o.kind === 'path' ? { root: o.tree.path, files: o.tree.files } : undefined;
}

/** What a log line says is happening while materialize runs. */
export function materializeText(name: string, o: TreeOrigin): string {
  return o.kind === 'git'
    ? `${name}: fetching ${redactCredentials(o.ref.repo)} ${o.ref.ref} (${o.ref.commit.slice(0, 12)}), depth 1`
    : `${name}: copying ${o.tree.files.length} files of ${describeTree(o.tree)}`;
}

/**
 * The manifest's versions for a component (and so the JUnit properties rig.version.*):
 * `<name>-repo`, `-ref`, `-commit` for a ref; `<name>-path`, `-commit` and `-uncommitted`
 * (the changes' hash, or "none") for a local checkout; `<name>-tree` for a plain directory.
 */
export function originVersions(name: string, o: TreeOrigin): Record<string, string> {
  if (o.kind === 'git') return { [`${name}-commit`]: o.ref.commit, [`${name}-repo`]: redactCredentials(o.ref.repo), [`${name}-ref`]: o.ref.ref };
  const t = o.tree;
  if (!t.commit) return { [`${name}-path`]: t.path, [`${name}-tree`]: t.id.slice('files:'.length) };
  return { [`${name}-path`]: t.path, [`${name}-commit`]: t.commit, [`${name}-uncommitted`]: t.uncommitted ? t.uncommitted.sha256 : 'none' };
}

/** A short name for the tree where a version is expected (the ref, or the commit with a mark for changes). */
export function originShortName(o: TreeOrigin): string {
  if (o.kind === 'git') return o.ref.ref;
  if (!o.tree.commit) return `local directory ${o.tree.id.slice('files:'.length, 'files:'.length + 12)}`;
  return `${o.tree.commit.slice(0, 12)}${o.tree.uncommitted ? ' + uncommitted changes' : ''} (local checkout)`;
}

/** The repository and commit a built file came from. */
export function originOfFile(o: TreeOrigin): Pick<FileOrigin, 'repo' | 'commit'> {
  if (o.kind === 'git') return { repo: redactCredentials(o.ref.repo), commit: o.ref.commit };
  return { repo: o.tree.path, ...(o.tree.commit ? { commit: o.tree.commit } : {}) };
}

/**
 * The version a report shows: the tree's own (Xen's Makefile, QEMU's VERSION) and where it
 * came from, as in "10.0.50 (master @ 1a2b3c4d5e6f)" or "4.23-unstable (local checkout 1a2b3c4d5e6f + uncommitted changes)".
 */
export function releaseText(version: string, o: TreeOrigin): string {
  if (o.kind === 'git') return o.ref.ref === o.ref.commit ? `${version} (${o.ref.commit.slice(0, 12)})` : `${version} (${o.ref.ref} @ ${o.ref.commit.slice(0, 12)})`;
  const t = o.tree;
  if (!t.commit) return `${version} (local directory ${t.id.slice('files:'.length, 'files:'.length + 12)})`;
  return `${version} (local checkout ${t.commit.slice(0, 12)}${t.uncommitted ? ' + uncommitted changes' : ''})`;
}
