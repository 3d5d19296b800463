import { createRequire as __xpvCreateRequire } from 'node:module'; import { fileURLToPath as __xpvFileURLToPath } from 'node:url'; import { dirname as __xpvDirname } from 'node:path'; const require = __xpvCreateRequire(import.meta.url); const __xpvFilename = __xpvFileURLToPath(import.meta.url); const __xpvDir = __xpvDirname(__xpvFilename);
import {
  isRemoteCacheUsable
} from "./chunks/chunk-SYCOGUQI.js";
import {
  cancelOnSignals,
  executePlan,
  exitCodeFor,
  parseShard,
  resolvePlan,
  setOutputs,
  writeReports
} from "./chunks/chunk-7VRTH5HI.js";
import {
  ConfigError,
  OPTIONS,
  OPTION_NAMES,
  STATE,
  credentialsIn,
  debug,
  error,
  getInput,
  group,
  identify,
  info,
  redactCredentials,
  saveState,
  setFailed,
  setSecret,
  summary,
  warning
} from "./chunks/chunk-73YV2RQS.js";

// src/action/main-impl.ts
import { isAbsolute as isAbsolute2, relative } from "node:path";

// src/action/inputs.ts
function readInputs() {
  const values = {};
  for (const name of OPTION_NAMES) {
    const v = getInput(name);
    if (v !== "") values[name] = v;
  }
  return { values, label: (name) => `input \`${name}\`` };
}

// src/action/failure.ts
import { isAbsolute, resolve } from "node:path";
function pathsFromInputs(raw, cwd) {
  const pick = (name) => {
    const v = raw.values[name]?.trim() || OPTIONS[name].default;
    return isAbsolute(v) ? v : resolve(cwd, v);
  };
  let shard;
  try {
    shard = parseShard(raw.values.shard, "shard");
  } catch {
  }
  return { junitPath: pick("junit-path"), logsDir: pick("logs-dir"), ...shard ? { shard } : {} };
}
function oneLine(e) {
  const kind = e instanceof ConfigError ? "configuration error" : "infrastructure error";
  const first = (e instanceof Error ? e.message : String(e)).split("\n")[0].trim();
  return redactCredentials(`${kind}: ${first}`);
}
async function reportFailure(e, paths, scenarios = []) {
  const line = oneLine(e);
  debug(redactCredentials(e instanceof Error ? e.stack ?? e.message : String(e)));
  const message = redactCredentials(e instanceof Error ? e.message : String(e));
  const result = {
    scenarios: scenarios.map((s) => ({ name: s.name, file: s.file, status: "error", startedAt: /* @__PURE__ */ new Date(), durationMs: 0, steps: [{ title: "run", kind: "run", status: "error", durationMs: 0, message }] })),
    phases: [],
    timeline: [],
    properties: {},
    fatal: { status: "error", message: line.slice(line.indexOf(": ") + 2), kind: e instanceof ConfigError ? "Configuration error" : "Infrastructure error" }
  };
  const { summary: summary2, problems } = writeReports(paths, result, { lenient: true });
  for (const p of problems) debug(`report not written: ${p}`);
  setOutputs(result, paths);
  await summary.addRaw(summary2).write().catch(() => void 0);
  setFailed(line);
}

// src/action/main-impl.ts
function annotateSteps(result, workspace) {
  for (const b of (result.builds ?? []).filter((x) => x.status === "failed")) {
    error(redactCredentials(`build ${b.component} failed${b.step ? ` at ${b.step}` : ""}: ${b.message ?? ""}`), { title: "build failed" });
  }
  for (const scenario of result.scenarios) {
    for (const step of scenario.steps.filter((s) => s.status === "failed" || s.status === "error")) {
      const text = redactCredentials(`${scenario.name}: ${step.title}: ${(step.message ?? step.status).split("\n")[0]}`);
      const where = step.where;
      error(text, {
        title: step.status === "failed" ? "scenario failed" : "infrastructure error",
        ...where ? { file: isAbsolute2(where.file) ? relative(workspace, where.file) : where.file, startLine: where.line, startColumn: where.column } : {}
      });
    }
  }
}
async function mainImpl() {
  const raw = readInputs();
  const cwd = process.env.GITHUB_WORKSPACE || process.cwd();
  let plan;
  try {
    plan = resolvePlan(raw, { cwd, env: process.env });
  } catch (e) {
    await reportFailure(e, pathsFromInputs(raw, cwd));
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
    buildGroup: (title, fn) => group(title, fn),
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
  }).catch(async (e) => {
    await reportFailure(e, plan, plan.scenarios);
    return void 0;
  }).finally(cancel.dispose);
  if (!result) return;
  const { summary: summary2 } = writeReports(plan, result);
  const warned = /* @__PURE__ */ new Set();
  for (const w of result.scenarios.flatMap((x) => x.warnings ?? [])) {
    const text = redactCredentials(`${w.domain}: ${w.line}`);
    if (warned.has(text) || warned.size >= 10) continue;
    warned.add(text);
    warning(text, { title: w.expected ? "expected kernel/Xen warning" : "kernel/Xen warning" });
  }
  await summary.addRaw(summary2).write();
  setOutputs(result, plan);
  annotateSteps(result, cwd);
  const code = exitCodeFor(result);
  if (code !== 0) setFailed(redactCredentials((result.fatal?.message ?? `scenarios did not all pass (see ${plan.junitPath})`).split("\n")[0]));
}

// src/main.ts
await mainImpl();
