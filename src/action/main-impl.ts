// The action's main step: inputs → plan → the shared core → outputs, summary, exit status.
import { isAbsolute, relative } from 'node:path';
import * as core from '@actions/core';
import type { RunResult } from '../scenario/result.js';
import { resolvePlan } from '../config/plan.js';
import { STATE } from '../config/options.js';
import { writeReports } from '../report/index.js';
import { executePlan, exitCodeFor } from '../run.js';
import { readInputs } from './inputs.js';
import { setOutputs } from './outputs.js';
import { pathsFromInputs, reportFailure } from './failure.js';
import { isRemoteCacheUsable } from './cache-service.js';
import { cancelOnSignals } from '../cancel.js';
import { credentialsIn, redactCredentials } from '../secrets.js';
import { identify, type ProcessIdentity } from '../host/process-identity.js';

/** An error annotation per failed build and per failed or errored step, on the scenario file's line where it has one. */
function annotateSteps(result: RunResult, workspace: string): void {
  for (const b of (result.builds ?? []).filter((x) => x.status === 'failed')) {
    core.error(redactCredentials(`build ${b.component} failed${b.step ? ` at ${b.step}` : ''}: ${b.message ?? ''}`), { title: 'build failed' });
  }
  for (const scenario of result.scenarios) {
    for (const step of scenario.steps.filter((s) => s.status === 'failed' || s.status === 'error')) {
      const text = redactCredentials(`${scenario.name}: ${step.title}: ${(step.message ?? step.status).split('\n')[0]}`);
      const where = step.where;
      core.error(text, {
        title: step.status === 'failed' ? 'scenario failed' : 'infrastructure error',
        ...(where ? { file: isAbsolute(where.file) ? relative(workspace, where.file) : where.file, startLine: where.line, startColumn: where.column } : {}),
      });
    }
  }
}

export async function mainImpl(): Promise<void> {
  const raw = readInputs();
  const cwd = process.env.GITHUB_WORKSPACE || process.cwd();
  let plan;
  try {
    plan = resolvePlan(raw, { cwd, env: process.env });
  } catch (e) {
    await reportFailure(e, pathsFromInputs(raw, cwd));
    return;
  }
  // The runner masks these in every line of the job's log, what git or QEMU print included.
  for (const url of [plan.rig.xenRepo, plan.rig.qemuRepo, plan.rig.linuxRepo]) {
    for (const secret of url ? credentialsIn(url) : []) core.setSecret(secret);
  }
  core.saveState(STATE.logsDir, plan.logsDir);
  const remoteCache = plan.cache.enabled && isRemoteCacheUsable();
  if (plan.cache.enabled && !remoteCache) {
    core.warning('no Actions cache service is reachable from this job: rigs are cached on this runner only and rebuilt on fresh ones');
  }

  const started: ProcessIdentity[] = [];
  const cancel = cancelOnSignals({ err: (t) => core.info(t.trimEnd()) });
  const result = await executePlan(plan, {
    signal: cancel.signal,
    onProcess: (pid) => {
      // Recorded as the process it is now, so the post step can tell it from a later holder of the id.
      const id = identify(pid);
      if (!id) return;
      started.push(id);
      core.saveState(STATE.pids, JSON.stringify(started));
    },
    info: (line) => core.info(redactCredentials(line)),
    warn: (line) => core.warning(redactCredentials(line)),
    group: (title, fn) => core.group(title, fn),
    buildGroup: (title, fn) => core.group(title, fn),
    remoteCache,
    onRig: (rig, key, cacheHit) => {
      core.saveState(STATE.rigKey, key);
      core.saveState(STATE.rigDir, rig.dir);
      core.saveState(STATE.rigCacheHit, String(cacheHit));
    },
    onBootedState: (key, dir) => {
      core.saveState(STATE.stateKey, key);
      core.saveState(STATE.stateDir, dir);
    },
  }).catch(async (e: unknown) => {
    // A bad bundle or output path found once the run started, or a crash: reported all the same.
    await reportFailure(e, plan, plan.scenarios);
    return undefined;
  }).finally(cancel.dispose);
  if (!result) return;

  const { summary } = writeReports(plan, result);
  // One annotation per distinct warning line: a new one on a PR's run is worth a look.
  const warned = new Set<string>();
  for (const w of result.scenarios.flatMap((x) => x.warnings ?? [])) {
    const text = redactCredentials(`${w.domain}: ${w.line}`);
    if (warned.has(text) || warned.size >= 10) continue;
    warned.add(text);
    core.warning(text, { title: w.expected ? 'expected kernel/Xen warning' : 'kernel/Xen warning' });
  }
  await core.summary.addRaw(summary).write();
  setOutputs(result, plan);
  annotateSteps(result, cwd);
  const code = exitCodeFor(result);
  if (code !== 0) core.setFailed(redactCredentials((result.fatal?.message ?? `scenarios did not all pass (see ${plan.junitPath})`).split('\n')[0]!));
}
