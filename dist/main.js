import { createRequire as __xpvCreateRequire } from 'node:module'; import { fileURLToPath as __xpvFileURLToPath } from 'node:url'; import { dirname as __xpvDirname } from 'node:path'; const require = __xpvCreateRequire(import.meta.url); const __xpvFilename = __xpvFileURLToPath(import.meta.url); const __xpvDir = __xpvDirname(__xpvFilename);
import {
  identify,
  isRemoteCacheUsable
} from "./chunks/chunk-LYBCQGRO.js";
import {
  cancelOnSignals,
  counts,
  executePlan,
  exitCodeFor,
  resolvePlan,
  writeReports
} from "./chunks/chunk-7E5MKB3B.js";
import {
  ConfigError,
  OPTION_NAMES,
  STATE,
  credentialsIn,
  getInput,
  group,
  info,
  redactCredentials,
  saveState,
  setFailed,
  setOutput,
  setSecret,
  summary,
  warning
} from "./chunks/chunk-6YJN2FRB.js";

// src/action/inputs.ts
function readInputs() {
  const values = {};
  for (const name of OPTION_NAMES) {
    const v = getInput(name);
    if (v !== "") values[name] = v;
  }
  return { values, label: (name) => `input \`${name}\`` };
}

// src/action/outputs.ts
function setOutputs(result, paths) {
  const c = counts(result);
  const values = {
    "junit-path": paths.junitPath,
    passed: String(c.passed),
    failed: String(c.failed),
    errored: String(c.error),
    skipped: String(c.skipped),
    "rig-key": result.rig?.key ?? "",
    "logs-dir": paths.logsDir
  };
  for (const [name, value] of Object.entries(values)) setOutput(name, value);
}

// src/action/main-impl.ts
async function mainImpl() {
  let plan;
  try {
    plan = resolvePlan(readInputs(), { cwd: process.env.GITHUB_WORKSPACE || process.cwd(), env: process.env });
  } catch (e) {
    setFailed(redactCredentials(e instanceof ConfigError ? `configuration error: ${e.message}` : String(e)));
    return;
  }
  for (const url of [plan.rig.xenRepo, plan.rig.qemuRepo, plan.rig.linuxRepo]) {
    for (const secret of url ? credentialsIn(url) : []) setSecret(secret);
  }
  saveState(STATE.logsDir, plan.logsDir);
  const remoteCache = plan.cache.enabled && isRemoteCacheUsable();
  if (plan.cache.enabled && !remoteCache) {
    warning("no Actions cache service is reachable from this job: rigs are cached on this runner only and rebuilt on fresh ones");
  }
  const started = [];
  const cancel = cancelOnSignals({ err: (t) => info(t.trimEnd()) });
  const result = await executePlan(plan, {
    signal: cancel.signal,
    onProcess: (pid) => {
      const id = identify(pid);
      if (!id) return;
      started.push(id);
      saveState(STATE.pids, JSON.stringify(started));
    },
    info: (line) => info(redactCredentials(line)),
    warn: (line) => warning(redactCredentials(line)),
    group: (title, fn) => group(title, fn),
    remoteCache,
    onRig: (rig, key, cacheHit) => {
      saveState(STATE.rigKey, key);
      saveState(STATE.rigDir, rig.dir);
      saveState(STATE.rigCacheHit, String(cacheHit));
    },
    onBootedState: (key, dir) => {
      saveState(STATE.stateKey, key);
      saveState(STATE.stateDir, dir);
    }
  }).catch((e) => {
    setFailed(redactCredentials(e instanceof ConfigError ? `configuration error: ${e.message}` : `infrastructure error: ${e.stack ?? e}`));
    return void 0;
  }).finally(cancel.dispose);
  if (!result) return;
  const summary2 = writeReports(plan, result);
  const warned = /* @__PURE__ */ new Set();
  for (const w of result.scenarios.flatMap((x) => x.warnings ?? [])) {
    const text = redactCredentials(`${w.domain}: ${w.line}`);
    if (warned.has(text) || warned.size >= 10) continue;
    warned.add(text);
    warning(text, { title: w.expected ? "expected kernel/Xen warning" : "kernel/Xen warning" });
  }
  await summary.addRaw(summary2).write();
  setOutputs(result, plan);
  const code = exitCodeFor(result);
  if (code !== 0) setFailed(redactCredentials(result.fatal?.message ?? `scenarios did not all pass (see ${plan.junitPath})`));
}

// src/main.ts
await mainImpl();
