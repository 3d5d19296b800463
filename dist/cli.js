#!/usr/bin/env node
import { createRequire as __xpvCreateRequire } from 'node:module'; import { fileURLToPath as __xpvFileURLToPath } from 'node:url'; import { dirname as __xpvDirname } from 'node:path'; const require = __xpvCreateRequire(import.meta.url); const __xpvFilename = __xpvFileURLToPath(import.meta.url); const __xpvDir = __xpvDirname(__xpvFilename);
import {
  builtInScenarioDir,
  builtInScenarios,
  cancelOnSignals,
  counts,
  describeBootMedia,
  executePlan,
  exitCodeFor,
  exitCodeForError,
  formatDuration,
  loadScenarioFile,
  newSystemAt,
  planBootMedia,
  resolvePlan,
  scenarioJsonSchema,
  writeReports
} from "./chunks/chunk-BOS4JPB2.js";
import {
  ConfigError,
  ExitCode,
  NeedsChange,
  OPTIONS,
  OPTION_NAMES,
  checkRig,
  ensureHostTools,
  exportRig,
  findCachedRig,
  formatBytes,
  formatPos,
  listEntries,
  obtainRig,
  packageVersion,
  pruneCache,
  redactCredentials,
  rigRecipe,
  withoutChanges
} from "./chunks/chunk-SYOHRV3K.js";

// src/cli/main-impl.ts
import { resolve } from "node:path";

// src/cli/args.ts
import { parseArgs } from "node:util";
function parseCommandLine(argv) {
  const options = {
    help: { type: "boolean", short: "h" },
    version: { type: "boolean" },
    "no-cache": { type: "boolean" }
  };
  for (const name of OPTION_NAMES) options[name] = { type: "string" };
  let parsed;
  try {
    parsed = parseArgs({ args: [...argv], options, allowPositionals: true, strict: true });
  } catch (e) {
    throw new ConfigError(`${e.message.split("\n")[0]}; see --help`);
  }
  const values = {};
  for (const name of OPTION_NAMES) {
    const v = parsed.values[name];
    if (typeof v === "string") values[name] = v;
  }
  if (parsed.values["no-cache"]) values.cache = "false";
  return {
    words: parsed.positionals,
    raw: { values, label: (name) => `--${name}` },
    help: parsed.values.help === true,
    version: parsed.values.version === true
  };
}
function optionsHelp() {
  const rows = OPTION_NAMES.map((name) => {
    const spec = OPTIONS[name];
    const value = spec.choices ? spec.choices.join("|") : name === "cache" ? "true|false" : "VALUE";
    const dflt = spec.default !== void 0 ? ` (default: ${spec.default})` : "";
    return `  --${name} ${value}
      ${spec.description}${dflt}`;
  });
  return [...rows, "  --no-cache\n      Same as --cache false.", "  -h, --help\n      Show help."].join("\n");
}

// src/cli/plan-text.ts
function describeStep(step) {
  const base = `${step.kind.padEnd(7)} ${step.title}`;
  const extra = [];
  if ((step.kind === "console" || step.kind === "ssh") && step.expect) extra.push(`expect ${step.expect}`);
  if ((step.kind === "console" || step.kind === "ssh") && step.expectNot) extra.push(`expect-not ${step.expectNot}`);
  if (step.kind === "ssh" && step.background) extra.push("background");
  extra.push(`timeout ${formatDuration(step.timeoutMs)}`);
  return `${base}  [${extra.join(", ")}]  (${formatPos(step.where)})`;
}
function describePlan(plan, sections = []) {
  const out = [];
  out.push("# Scenarios");
  for (const s of plan.scenarios) {
    out.push(`${s.name}  (${s.file})`);
    if (s.requires.length) out.push(`  requires: ${s.requires.join(", ")}`);
    for (const step of s.steps) out.push(`  - ${describeStep(step)}`);
  }
  out.push("", "# Domains (every system of the run has them all)");
  out.push("dom0");
  for (const d of plan.domains) {
    const parts = [`domid ${d.domid}`, `memory ${d.memoryMiB}M`, `cpus ${d.cpus}`, d.vpl011 ? "vpl011" : "no vpl011"];
    if (d.virtioPci) {
      const node = d.virtioPciNode === "xen" ? "Xen writes it" : d.virtioPciNode === "passthrough" ? "our partial DT" : "by the rig's Xen (see Boot media)";
      parts.push(`virtio-pci ${d.virtioPci} (host bridge: ${node})`);
    }
    if (d.bootargs) parts.push(`bootargs "${d.bootargs}"`);
    out.push(`${d.name}: ${parts.join(", ")}`);
  }
  out.push("", "# Run");
  out.push(`rig: ${plan.rig.provider}`);
  out.push(`boot: ${plan.boot}`);
  out.push(`ssh: 127.0.0.1:${plan.sshPort === 0 ? "<free port>" : plan.sshPort} \u2192 dom0:22`);
  out.push(`cache: ${plan.cache.enabled ? plan.cache.dir : "off"}`);
  out.push(`systems: ${systemsLine(plan)}`);
  out.push(`timeout: ${plan.timeoutMinutes} min`);
  if (plan.keepAliveOnFailureMs > 0) out.push(`keep alive on failure: ${formatDuration(plan.keepAliveOnFailureMs)}`);
  out.push(`junit: ${plan.junitPath}`);
  out.push(`logs: ${plan.logsDir}`);
  for (const section of sections) out.push("", `# ${section.title}`, section.body.trimEnd());
  return out.join("\n") + "\n";
}
function describeRecipe(recipe, indent = "") {
  if (recipe === null || typeof recipe !== "object") return `${indent}${String(recipe)}`;
  const lines = [];
  for (const [key, value] of Object.entries(recipe)) {
    if (Array.isArray(value) && value.every((v) => typeof v !== "object")) lines.push(`${indent}${key}: ${value.join(", ")}`);
    else if (typeof value === "string" && value.includes("\n")) lines.push(`${indent}${key}: (${value.split("\n").length} lines)`);
    else if (value !== null && typeof value === "object") lines.push(`${indent}${key}:`, describeRecipe(value, `${indent}  `));
    else lines.push(`${indent}${key}: ${String(value)}`);
  }
  return lines.join("\n");
}
function systemsLine(plan) {
  const starts = newSystemAt(plan.scenarios);
  const groups = [];
  plan.scenarios.forEach((s, i) => starts[i] ? groups.push([s.name]) : groups[groups.length - 1].push(s.name));
  const how = (i, first) => {
    const fresh = plan.scenarios.find((s) => s.name === first)?.freshBoot;
    if (i === 0) return plan.snapshot && plan.cache.enabled ? "booted (or restored from a cached booted system)" : "booted";
    return fresh || !plan.snapshot ? "booted" : "restored from the first";
  };
  const parts = groups.map((g, i) => `${i + 1}: ${g.join(", ")} (${how(i, g[0])})`);
  return `${groups.length} \u2014 ${parts.join("; ")}${plan.snapshot ? "" : " [snapshot off]"}`;
}

// src/cli/main-impl.ts
var USAGE = `xen-pvh-virtio: prove that dom0less Xen on ARM64 gives a domU working virtio-pci
devices served by a QEMU backend in dom0.

Usage:
  xen-pvh-virtio run [SCENARIO\u2026] [options]     boot the rig once and run the scenarios
  xen-pvh-virtio plan [SCENARIO\u2026] [options]    print what a run would do, run nothing
  xen-pvh-virtio rig build [options]           build (or find in the cache) the rig
  xen-pvh-virtio rig export DIR|FILE.tar.gz    write that rig as a bundle for --rig prebuilt
  xen-pvh-virtio rig verify [options]          check the cached rig (or --rig-path) against
                                               its manifest; names every damaged file
  xen-pvh-virtio scenarios list                list the built-in scenarios
  xen-pvh-virtio scenarios schema              print the scenario JSON Schema
  xen-pvh-virtio cache [list] [options]        what the local cache holds: size, last use
  xen-pvh-virtio cache prune [options]         remove the least recently used entries until
                                               the cache fits --cache-max-size
  xen-pvh-virtio setup                         install the host tools a run needs (apt)
  xen-pvh-virtio --version                     print the version

SCENARIO is a built-in name or a path/glob of a scenario YAML file; given on the
command line, they replace --scenarios.

Exit codes: 0 all passed (or skipped), 1 a scenario failed, 2 usage or configuration
error, 3 infrastructure error.

Options (each is also the action input of the same name):
`;
function hooksFor(io) {
  const start = Date.now();
  const stamp = () => `[${((Date.now() - start) / 1e3).toFixed(1).padStart(6)}s]`;
  return {
    info: (line) => io.err(`${stamp()} ${line}
`),
    warn: (line) => io.err(`${stamp()} warning: ${line}
`),
    group: async (title, fn) => {
      io.err(`${stamp()} == ${title}
`);
      return fn();
    },
    remoteCache: false
  };
}
function planFrom(words, parsed, io) {
  const raw = parsed.raw;
  if (words.length > 0) raw.values.scenarios = words.join("\n");
  return resolvePlan(raw, { cwd: io.cwd, env: io.env });
}
async function cliMain(argv, given) {
  const io = { ...given, out: (t) => given.out(redactCredentials(t)), err: (t) => given.err(redactCredentials(t)) };
  try {
    const parsed = parseCommandLine(argv);
    if (parsed.version) {
      io.out(`${packageVersion()}
`);
      return ExitCode.passed;
    }
    const [command, ...rest] = parsed.words;
    if (parsed.help || command === void 0 || command === "help") {
      io.out(USAGE + optionsHelp() + "\n");
      return command === void 0 && !parsed.help ? ExitCode.usage : ExitCode.passed;
    }
    switch (command) {
      case "run": {
        const plan = planFrom(rest, parsed, io);
        const cancel = cancelOnSignals(io);
        const result = await executePlan(plan, { ...hooksFor(io), signal: cancel.signal }).finally(cancel.dispose);
        writeReports(plan, result);
        const c = counts(result);
        io.err(`${c.passed} passed, ${c.failed} failed, ${c.error} errored, ${c.skipped} skipped \u2014 JUnit ${plan.junitPath}, logs ${plan.logsDir}
`);
        const warnings = new Set(result.scenarios.flatMap((x) => (x.warnings ?? []).map((w) => `${w.domain}: ${w.line}${w.expected ? " (expected)" : ""}`)));
        for (const w of warnings) io.err(`kernel/Xen warning: ${w}
`);
        if (result.fatal) io.err(`${result.fatal.status === "error" ? "infrastructure error" : "failure"}: ${result.fatal.message}
`);
        return exitCodeFor(result);
      }
      case "plan": {
        const plan = planFrom(rest, parsed, io);
        const sections = [{ title: "Rig recipe", body: describeRecipe(rigRecipe(plan.rig, plan.cache.dir)) }];
        let unknown;
        const found = plan.cache.enabled ? await withoutChanges(() => findCachedRig(plan.rig, { cacheDir: plan.cache.dir, log: () => void 0 })).catch((e) => {
          if (!(e instanceof NeedsChange)) throw e;
          unknown = e.message;
          return void 0;
        }) : void 0;
        if (unknown) {
          sections.push({ title: "Boot media", body: `Not known without changing this machine: ${unknown}. plan downloads and installs nothing; \`xen-pvh-virtio rig build\` (or a run) does.` });
        } else if (found) {
          const media = planBootMedia({ rig: found.rig, domains: plan.domains, boot: plan.boot, workDir: "<work>", sshPort: plan.sshPort });
          sections.push({ title: `Boot media (rig ${found.key.slice(0, 12)}, cached)`, body: describeBootMedia(media) });
        } else {
          sections.push({
            title: "Boot media",
            body: "The rig is not in the local cache yet: after `xen-pvh-virtio rig build`, plan also prints the device tree, boot script, disk layout and QEMU command line."
          });
        }
        io.out(describePlan(plan, sections));
        return ExitCode.passed;
      }
      case "rig": {
        const isBuild = rest[0] === "build" && rest.length === 1;
        const isVerify = rest[0] === "verify" && rest.length === 1;
        const isExport = rest[0] === "export" && rest.length === 2;
        if (!isBuild && !isVerify && !isExport) {
          throw new ConfigError(`unknown rig command: ${rest.join(" ") || "(none)"}; expected: rig build | rig verify | rig export DIR|FILE.tar.gz`);
        }
        const plan = planFrom([], parsed, io);
        const hooks = hooksFor(io);
        if (isVerify) {
          const checked = await checkRig(plan.rig, { cacheDir: plan.cache.dir, log: hooks.info });
          io.out(`${checked.shownAs}
`);
          io.err(`rig ${checked.key} intact: ${checked.files} files match the manifest
`);
          return ExitCode.passed;
        }
        const got = await obtainRig(plan.rig, { cacheDir: plan.cache.dir, log: hooks.info, warn: hooks.warn, remoteCache: false, useCache: plan.cache.enabled });
        io.err(`rig ${got.key} ${got.cacheHit ? "(cache hit)" : "(built)"}
`);
        io.out(`${isExport ? await exportRig(got.rig, resolve(io.cwd, rest[1]), hooks.info) : got.rig.dir}
`);
        return ExitCode.passed;
      }
      case "scenarios": {
        if (rest[0] === "list" && rest.length === 1) {
          for (const name of builtInScenarios()) {
            const s = loadScenarioFile(`${builtInScenarioDir()}/${name}.yaml`);
            io.out(`${name}	${s.description ?? ""}
`);
          }
          return ExitCode.passed;
        }
        if (rest[0] === "schema" && rest.length === 1) {
          io.out(JSON.stringify(scenarioJsonSchema(), null, 2) + "\n");
          return ExitCode.passed;
        }
        throw new ConfigError(`unknown scenarios command: ${rest.join(" ") || "(none)"}; expected: scenarios list | scenarios schema`);
      }
      case "cache": {
        const plan = planFrom([], parsed, io);
        if (rest.length === 0 || rest[0] === "list" && rest.length === 1) {
          const entries = await listEntries(plan.cache.dir);
          const total = entries.reduce((n, e) => n + e.bytes, 0);
          for (const e of [...entries].reverse()) {
            io.out(`${formatBytes(e.bytes).padStart(10)}  ${e.lastUsed.toISOString().slice(0, 16).replace("T", " ")}  ${e.name}  (${e.what})
`);
          }
          const budget = plan.cache.maxBytes > 0 ? `budget ${formatBytes(plan.cache.maxBytes)} (cache-max-size)` : "no budget (cache-max-size 0)";
          io.out(`${formatBytes(total).padStart(10)}  in all, ${entries.length} entries in ${plan.cache.dir}; ${budget}
`);
          return ExitCode.passed;
        }
        if (rest[0] === "prune" && rest.length === 1) {
          if (plan.cache.maxBytes === 0) throw new ConfigError("cache prune needs a budget: --cache-max-size 0 means no limit");
          const r = await pruneCache(plan.cache.dir, plan.cache.maxBytes, { log: (line) => io.err(`${line}
`) });
          io.err(`cache: ${formatBytes(r.before)} \u2192 ${formatBytes(r.after)} (budget ${formatBytes(plan.cache.maxBytes)}), ${r.removed.length} entries removed${r.kept.length ? `, ${r.kept.length} in use kept` : ""}
`);
          return ExitCode.passed;
        }
        throw new ConfigError(`unknown cache command: ${rest.join(" ")}; expected: cache [list] | cache prune`);
      }
      case "setup": {
        await ensureHostTools(["boot", "rig-debian", "rig-source", "tests"], { log: (line) => io.err(`${line}
`) });
        return ExitCode.passed;
      }
      default:
        throw new ConfigError(`unknown command: ${command}; see --help`);
    }
  } catch (e) {
    const code = exitCodeForError(e);
    const kind = code === ExitCode.usage ? "error" : "infrastructure error";
    io.err(`${kind}: ${e.message}
`);
    return code;
  }
}

// src/cli.ts
process.exitCode = await cliMain(process.argv.slice(2), {
  out: (t) => process.stdout.write(t),
  err: (t) => process.stderr.write(t),
  cwd: process.cwd(),
  env: process.env
});
