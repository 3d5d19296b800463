// The workflows this repository ships, parsed once for the tests that hold them to our rules:
// workflows/*.yml (examples users copy) and .github/workflows/*.yml (our own).
import { readdirSync, readFileSync } from 'node:fs';
import { relative, resolve } from 'node:path';
import { parse } from 'yaml';

export const root = resolve(__dirname, '../../..');

export interface Step {
  id?: string;
  name?: string;
  if?: string;
  uses?: string;
  run?: string;
  with?: Record<string, unknown>;
  env?: Record<string, unknown>;
}

export interface Job {
  name?: string;
  if?: string;
  needs?: string | string[];
  'runs-on': string | string[];
  'timeout-minutes'?: unknown;
  permissions?: unknown;
  strategy?: { 'fail-fast'?: boolean; matrix: Record<string, unknown[]> };
  steps: Step[];
}

export interface Workflow {
  name?: string;
  on: Record<string, unknown>;
  permissions?: unknown;
  concurrency?: { group?: string; 'cancel-in-progress'?: boolean | string };
  env?: Record<string, string>;
  jobs: Record<string, Job>;
}

export interface WorkflowFile {
  /** Relative to the repository root, e.g. `workflows/pr.yml`. */
  path: string;
  text: string;
  wf: Workflow;
}

function read(dir: string): WorkflowFile[] {
  const abs = resolve(root, dir);
  return readdirSync(abs)
    .filter((f) => /\.ya?ml$/.test(f))
    .sort()
    .map((f) => {
      const path = relative(root, resolve(abs, f));
      const text = readFileSync(resolve(abs, f), 'utf8');
      return { path, text, wf: parse(text) as Workflow };
    });
}

export const examples = read('workflows');
export const own = read('.github/workflows');
export const all = [...examples, ...own];

export function example(name: string): WorkflowFile {
  const f = examples.find((w) => w.path === `workflows/${name}`);
  if (!f) throw new Error(`no workflows/${name}`);
  return f;
}

/** This repository's action as the examples call it (any owner: users fork and rename). */
export const isOurs = (s: Step) => s.uses?.includes('/xen-pvh-virtio-action@') ?? false;

/**
 * The one major each action is used at, everywhere. The official actions' majors are those
 * whose releases run on node24 (the node20-era ones warn on every run); bumping one means
 * changing this table and every workflow together, which the hygiene test enforces.
 */
export const MAJORS: Record<string, string> = {
  'actions/checkout': 'v6',
  'actions/upload-artifact': 'v7',
  'actions/download-artifact': 'v8',
  'actions/cache': 'v5',
  'actions/setup-node': 'v6',
  'mikepenz/action-junit-report': 'v6',
  'org/xen-pvh-virtio-action': 'v1',
};

/** `owner/repo/sub/path@ref` → [`owner/repo`, `ref`]; local (`./…`) and docker actions → undefined. */
export function splitUses(uses: string): [string, string] | undefined {
  const m = /^([^./][^/@]*\/[^/@]+)(?:\/[^@]*)?@(.+)$/.exec(uses);
  return m ? [m[1]!, m[2]!] : undefined;
}

/** The `on:` events of a workflow (a bare string or list is allowed by GitHub too). */
export function events(wf: Workflow): string[] {
  const on = wf.on as unknown;
  if (typeof on === 'string') return [on];
  if (Array.isArray(on)) return on.map(String);
  return Object.keys(on ?? {});
}

/** The artifact every pull-request workflow leaves and report.yml publishes as the check. */
export const JUNIT_ARTIFACT = 'xen-pvh-virtio-junit';
