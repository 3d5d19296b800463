#!/usr/bin/env node
import { createRequire as __xpvCreateRequire } from 'node:module'; import { fileURLToPath as __xpvFileURLToPath } from 'node:url'; import { dirname as __xpvDirname } from 'node:path'; const require = __xpvCreateRequire(import.meta.url); const __xpvFilename = __xpvFileURLToPath(import.meta.url); const __xpvDir = __xpvDirname(__xpvFilename);
import {
  BUILD_SUITE_PROPERTY,
  DEFAULT_LINUX_REPO,
  RESULT_FILE,
  appendOutputs,
  buildJunit,
  buildMergedSummary,
  builtInScenarioDir,
  builtInScenarios,
  cancelOnSignals,
  code,
  counts,
  describeBootMedia,
  executePlan,
  exitCodeFor,
  exitCodeForError,
  formatDuration,
  formatShard,
  loadScenarioFile,
  newSystemAt,
  outputValues,
  parseResultFile,
  plain,
  planBootMedia,
  prepareOutputPaths,
  readShard,
  require_dist,
  resolvePlan,
  scenarioJsonSchema,
  scenarioStatus,
  writeReports
} from "./chunks/chunk-7VRTH5HI.js";
import {
  ConfigError,
  ExitCode,
  GIT_ENV,
  InfraError,
  NeedsChange,
  OPTIONS,
  OPTION_NAMES,
  __toESM,
  checkRig,
  ensureHostTools,
  exportRig,
  findCachedRig,
  formatBytes,
  formatPos,
  listEntries,
  markUsed,
  obtainRig,
  packageVersion,
  processAlive,
  pruneCache,
  redactCredentials,
  resolveRef,
  rigRecipe,
  run,
  withoutChanges
} from "./chunks/chunk-73YV2RQS.js";

// src/cli/main-impl.ts
import { resolve as resolve6 } from "node:path";

// src/cli/args.ts
import { parseArgs } from "node:util";
var BOOLEANS = new Set(OPTION_NAMES.filter((n) => OPTIONS[n].kind === "boolean"));
function spellBooleans(argv) {
  const out = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === "--") {
      out.push(...argv.slice(i));
      break;
    }
    const negated = /^--no-(.+)$/.exec(arg);
    if (negated && BOOLEANS.has(negated[1])) out.push(`--${negated[1]}=false`);
    else if (arg.startsWith("--") && BOOLEANS.has(arg.slice(2)) && !/^(true|false)$/i.test(argv[i + 1] ?? "")) out.push(`${arg}=true`);
    else out.push(arg);
  }
  return out;
}
function parseCommandLine(argv, own = []) {
  const options = {
    help: { type: "boolean", short: "h" },
    version: { type: "boolean" }
  };
  for (const name of OPTION_NAMES) options[name] = { type: "string" };
  for (const name of own) options[name] = { type: "string" };
  let parsed;
  try {
    parsed = parseArgs({ args: spellBooleans(argv), options, allowPositionals: true, strict: true });
  } catch (e) {
    throw new ConfigError(`${e.message.split("\n")[0]}; see --help`);
  }
  const values = {};
  for (const name of OPTION_NAMES) {
    const v = parsed.values[name];
    if (typeof v === "string") values[name] = v;
  }
  return {
    words: parsed.positionals,
    raw: { values, label: (name) => `--${name}` },
    help: parsed.values.help === true,
    version: parsed.values.version === true,
    own: Object.fromEntries(own.flatMap((name) => typeof parsed.values[name] === "string" ? [[name, parsed.values[name]]] : []))
  };
}
function optionsHelp() {
  const rows = OPTION_NAMES.map((name) => {
    const spec = OPTIONS[name];
    const dflt = spec.default !== void 0 ? ` (default: ${spec.default})` : "";
    if (BOOLEANS.has(name)) return `  --${name} [true|false], --no-${name}
      ${spec.description}${dflt}`;
    const value = spec.choices ? spec.choices.join("|") : "VALUE";
    return `  --${name} ${value}
      ${spec.description}${dflt}`;
  });
  return [...rows, "  -h, --help\n      Show help."].join("\n");
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
  out.push(plan.shard ? `# Scenarios (shard ${formatShard(plan.shard)}: ${plan.scenarios.length} of ${plan.shard.selected})` : "# Scenarios");
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
  if (plan.shard) out.push(...shardLines(plan.shard));
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
function shardLines(shard) {
  const total = shard.shards.reduce((n, s) => n + s.cost, 0);
  return [
    `shard: ${formatShard(shard)}, estimated cost ${shard.shards[shard.index - 1].cost} of ${total} (split by estimated cost; every job computes the same split)`,
    ...shard.shards.map((s, i) => `  ${i + 1 === shard.index ? "*" : " "} ${i + 1}/${shard.count} (cost ${s.cost}): ${s.scenarios.join(", ") || "(none)"}`)
  ];
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
  const atOnce = Math.min(plan.jobs, groups.length);
  return `${groups.length} \u2014 ${parts.join("; ")}${plan.snapshot ? "" : " [snapshot off]"}${atOnce > 1 ? `; ${atOnce} at once (jobs ${plan.jobs})` : ""}`;
}

// src/cli/merge.ts
import { appendFileSync, writeFileSync } from "node:fs";
import { isAbsolute as isAbsolute2, join as join2, resolve as resolve3 } from "node:path";

// src/merge/merge.ts
import { dirname, resolve as resolve2 } from "node:path";

// src/merge/inputs.ts
import { closeSync, constants, fstatSync, openSync, readSync, readdirSync, realpathSync, statSync } from "node:fs";
import { isAbsolute, join, relative, resolve } from "node:path";
var MAX_REPORT_BYTES = 32 * 1024 * 1024;
var MAX_DEPTH = 12;
var MAX_ENTRIES = 1e5;
var MAX_REPORTS = 4096;
function shownAs(path, cwd) {
  const rel = relative(cwd, path);
  return rel && !rel.startsWith("..") && !isAbsolute(rel) ? rel : path;
}
function findReports(inputs, cwd, skip = []) {
  if (inputs.length === 0) throw new ConfigError("merge: expected the shards' reports: folders holding them (e.g. the downloaded artifacts) or JUnit .xml and result.json files");
  const found = [];
  const seen = new Set(skip.map((p) => realOrSelf(p)));
  let entries = 0;
  const add = (path, kind, walked) => {
    const real = realOrSelf(path);
    if (seen.has(real)) return;
    seen.add(real);
    if (found.length >= MAX_REPORTS) throw new ConfigError(`merge: more than ${MAX_REPORTS} reports among ${inputs.join(", ")}`);
    found.push({ path, shownAs: shownAs(path, cwd), kind, walked });
  };
  const walk = (dir, depth, given) => {
    if (depth > MAX_DEPTH) throw new ConfigError(`merge: ${given}: folders nested deeper than ${MAX_DEPTH} levels`);
    let list;
    try {
      list = readdirSync(dir, { withFileTypes: true });
    } catch (e) {
      throw new ConfigError(`merge: ${shownAs(dir, cwd)}: cannot read the folder: ${e.message}`);
    }
    list.sort((a, b) => a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
    for (const entry of list) {
      if (++entries > MAX_ENTRIES) throw new ConfigError(`merge: ${given}: more than ${MAX_ENTRIES} files and folders`);
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path, depth + 1, given);
      else if (entry.isFile() && entry.name === RESULT_FILE) add(path, "result", true);
      else if (entry.isFile() && entry.name.endsWith(".xml")) add(path, "junit", true);
    }
  };
  for (const input of inputs) {
    const path = resolve(cwd, input);
    let st;
    try {
      st = statSync(path);
    } catch {
      throw new ConfigError(`merge: ${input}: no such file or folder`);
    }
    if (st.isDirectory()) walk(path, 0, input);
    else if (st.isFile() && input.endsWith(".json")) add(path, "result", false);
    else if (st.isFile() && input.endsWith(".xml")) add(path, "junit", false);
    else throw new ConfigError(`merge: ${input}: expected a folder, a JUnit .xml file or a ${RESULT_FILE}`);
  }
  return found;
}
function realOrSelf(path) {
  try {
    return realpathSync(path);
  } catch {
    return resolve(path);
  }
}
function readReport(report, limit = MAX_REPORT_BYTES) {
  let fd;
  try {
    fd = openSync(report.path, constants.O_RDONLY | constants.O_NONBLOCK | (report.walked ? constants.O_NOFOLLOW : 0));
  } catch (e) {
    throw new ConfigError(`merge: ${report.shownAs}: cannot open: ${e.message}`);
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw new ConfigError(`merge: ${report.shownAs}: not a regular file`);
    if (st.size > limit) throw new ConfigError(`merge: ${report.shownAs}: ${st.size} bytes, more than a report may have (${limit})`);
    const buf = Buffer.alloc(st.size + 1);
    let got = 0;
    for (let n; got < buf.length && (n = readSync(fd, buf, got, buf.length - got, null)) > 0; ) got += n;
    if (got > st.size) throw new ConfigError(`merge: ${report.shownAs}: changed while it was read`);
    try {
      return new TextDecoder("utf-8", { fatal: true }).decode(buf.subarray(0, got));
    } catch {
      throw new ConfigError(`merge: ${report.shownAs}: not UTF-8 text`);
    }
  } finally {
    closeSync(fd);
  }
}

// src/merge/xml.ts
var XmlError = class extends Error {
  constructor(message, line) {
    super(`line ${line}: ${message}`);
    this.line = line;
  }
  line;
  name = "XmlError";
};
var MAX_DEPTH2 = 64;
var NAME = /[A-Za-z_:][-A-Za-z0-9_:.]*/y;
var SPACE = /[ \t\r\n]*/y;
var NOT_XML_CHAR = /[^\x09\x0a\x0d\x20-\ud7ff\ue000-\ufffd\u{10000}-\u{10ffff}]/u;
var PREDEFINED = { lt: "<", gt: ">", amp: "&", quot: '"', apos: "'" };
function parseXml(text) {
  return new Reader(text).document();
}
var Reader = class {
  constructor(s) {
    this.s = s;
    if (s.startsWith("\uFEFF")) this.pos = 1;
    const bad = NOT_XML_CHAR.exec(s);
    if (bad) throw new XmlError(`character U+${bad[0].codePointAt(0).toString(16).padStart(4, "0")} is not allowed in XML`, this.lineAt(bad.index));
  }
  s;
  pos = 0;
  document() {
    if (this.s.startsWith("<?xml", this.pos) && /[ \t\r\n?]/.test(this.s[this.pos + 5] ?? "")) this.declaration();
    this.misc();
    if (this.s.startsWith("<!DOCTYPE", this.pos)) this.fail("a DOCTYPE is not accepted in a report");
    if (this.s[this.pos] !== "<") this.fail(this.pos >= this.s.length ? "no root element" : "expected the root element");
    const root = this.element(0);
    this.misc();
    if (this.pos < this.s.length) this.fail("content after the root element");
    return root;
  }
  declaration() {
    const end = this.s.indexOf("?>", this.pos);
    if (end < 0) this.fail("unterminated XML declaration");
    const decl = this.s.slice(this.pos, end);
    const encoding = /\bencoding\s*=\s*["']([^"']*)["']/.exec(decl)?.[1];
    if (encoding !== void 0 && !/^utf-?8$/i.test(encoding)) this.fail(`encoding ${encoding} is not supported; expected UTF-8`);
    this.pos = end + 2;
  }
  /** Whitespace, comments and processing instructions, which may surround the root. */
  misc() {
    for (; ; ) {
      this.space();
      if (this.s.startsWith("<!--", this.pos)) this.comment();
      else if (this.s.startsWith("<?", this.pos)) this.instruction();
      else return;
    }
  }
  element(depth) {
    if (depth >= MAX_DEPTH2) this.fail(`elements nested deeper than ${MAX_DEPTH2}`);
    const at = this.pos;
    this.pos++;
    const name = this.name("an element name");
    const attrs = /* @__PURE__ */ new Map();
    for (; ; ) {
      const before = this.pos;
      this.space();
      if (this.s.startsWith("/>", this.pos)) {
        this.pos += 2;
        return { name, attrs, children: [], at };
      }
      if (this.s[this.pos] === ">") {
        this.pos++;
        break;
      }
      if (this.pos === before) this.fail(`expected whitespace, > or /> in <${name}>`);
      const attr = this.name("an attribute name");
      this.space();
      if (this.s[this.pos] !== "=") this.fail(`expected = after attribute ${attr}`);
      this.pos++;
      this.space();
      const quote = this.s[this.pos];
      if (quote !== '"' && quote !== "'") this.fail(`expected a quoted value for attribute ${attr}`);
      const end = this.s.indexOf(quote, this.pos + 1);
      if (end < 0) this.fail(`unterminated value of attribute ${attr}`);
      const raw = this.s.slice(this.pos + 1, end);
      if (raw.includes("<")) this.fail(`< in the value of attribute ${attr}`);
      if (attrs.has(attr)) this.fail(`attribute ${attr} given twice`);
      attrs.set(attr, this.decode(raw.replace(/[\t\n\r]/g, " "), this.pos));
      this.pos = end + 1;
    }
    const children = [];
    for (; ; ) {
      if (this.pos >= this.s.length) this.fail(`<${name}> (line ${this.lineAt(at)}) is not closed`);
      if (this.s.startsWith("</", this.pos)) {
        this.pos += 2;
        const closing = this.name("an element name");
        if (closing !== name) this.fail(`</${closing}> closes <${name}> (line ${this.lineAt(at)})`);
        this.space();
        if (this.s[this.pos] !== ">") this.fail(`expected > after </${closing}`);
        this.pos++;
        return { name, attrs, children, at };
      }
      if (this.s.startsWith("<![CDATA[", this.pos)) {
        const end = this.s.indexOf("]]>", this.pos + 9);
        if (end < 0) this.fail("unterminated CDATA section");
        children.push(this.s.slice(this.pos + 9, end));
        this.pos = end + 3;
      } else if (this.s.startsWith("<!--", this.pos)) {
        this.comment();
      } else if (this.s.startsWith("<?", this.pos)) {
        this.instruction();
      } else if (this.s.startsWith("<!", this.pos)) {
        this.fail("a declaration is not accepted inside an element");
      } else if (this.s[this.pos] === "<") {
        children.push(this.element(depth + 1));
      } else {
        const end = this.s.indexOf("<", this.pos);
        const stop = end < 0 ? this.s.length : end;
        const raw = this.s.slice(this.pos, stop);
        if (raw.includes("]]>")) this.fail("]]> outside a CDATA section");
        children.push(this.decode(raw, this.pos));
        this.pos = stop;
      }
    }
  }
  comment() {
    const end = this.s.indexOf("-->", this.pos + 4);
    if (end < 0) this.fail("unterminated comment");
    this.pos = end + 3;
  }
  instruction() {
    const end = this.s.indexOf("?>", this.pos + 2);
    if (end < 0) this.fail("unterminated processing instruction");
    this.pos = end + 2;
  }
  name(what) {
    NAME.lastIndex = this.pos;
    const m = NAME.exec(this.s);
    if (!m) this.fail(`expected ${what}`);
    this.pos += m[0].length;
    return m[0];
  }
  space() {
    SPACE.lastIndex = this.pos;
    this.pos += SPACE.exec(this.s)[0].length;
  }
  /** Text with its references replaced; `at` is where it starts, for messages. */
  decode(raw, at) {
    if (!raw.includes("&")) return raw;
    return raw.replace(/&([^;&\s]{0,12});?/g, (whole, ref, offset) => {
      const line = this.lineAt(at + offset);
      if (!whole.endsWith(";")) throw new XmlError(`& not followed by a reference (write &amp;)`, line);
      const named = PREDEFINED[ref];
      if (named !== void 0) return named;
      const num = /^#x([0-9a-fA-F]{1,6})$/.exec(ref) ?? /^#([0-9]{1,7})$/.exec(ref);
      if (!num) throw new XmlError(`unknown entity &${ref}; (only &lt; &gt; &amp; &quot; &apos; and character references)`, line);
      const code2 = parseInt(num[1], ref.startsWith("#x") ? 16 : 10);
      const char = code2 <= 1114111 ? String.fromCodePoint(code2) : "";
      if (!char || NOT_XML_CHAR.test(char)) throw new XmlError(`character reference &${ref}; is not an XML character`, line);
      return char;
    });
  }
  lineAt(index) {
    return lineAt(this.s, index);
  }
  fail(message) {
    throw new XmlError(message, this.lineAt(this.pos));
  }
};
function lineAt(text, index) {
  let line = 1;
  for (let i = text.indexOf("\n"); i >= 0 && i < index; i = text.indexOf("\n", i + 1)) line++;
  return line;
}
function textOf(element) {
  return element.children.filter((c) => typeof c === "string").join("");
}
function escapeText(text) {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}
function escapeAttr(text) {
  return escapeText(text).replace(/"/g, "&quot;").replace(/\t/g, "&#9;").replace(/\n/g, "&#10;").replace(/\r/g, "&#13;");
}

// src/merge/junit.ts
var SECONDS = /^[0-9]+(\.[0-9]+)?$/;
var DATE_TIME = /^-?[0-9]{4,}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?(Z|[+-][0-9]{2}:[0-9]{2})?$/;
function looksLikeJunit(xml) {
  return /^(\ufeff)?\s*(<\?xml[^>]*\?>\s*)?(<!--[\s\S]*?-->\s*|<!DOCTYPE[^[>]*(\[[\s\S]*?\])?\s*>\s*)*<testsuites?[\s>/]/.test(xml.slice(0, 64 * 1024));
}
function readJunit(xml, shownAs2) {
  let root;
  try {
    root = parseXml(xml);
  } catch (e) {
    if (e instanceof XmlError) throw new ConfigError(`${shownAs2}: not well-formed XML: ${e.message}`);
    throw e;
  }
  const fail = (el, message) => {
    throw new ConfigError(`${shownAs2}: line ${lineAt(xml, el.at)}: not a JUnit report in the dialect this harness writes: ${message}`);
  };
  const elements = (el) => {
    for (const c of el.children) if (typeof c === "string" && c.trim() !== "") fail(el, `text directly inside <${el.name}>`);
    return el.children.filter((c) => typeof c !== "string");
  };
  const leaf = (el) => {
    if (el.children.some((c) => typeof c !== "string")) fail(el, `an element inside <${el.name}>`);
    return textOf(el);
  };
  const seconds = (el, required) => {
    const t = el.attrs.get("time");
    if (t === void 0) return required ? fail(el, `<${el.name}> has no time`) : void 0;
    if (!SECONDS.test(t)) fail(el, `time="${t}" is not a number of seconds`);
    return t;
  };
  const suite = (el) => {
    const name2 = el.attrs.get("name") ?? fail(el, "<testsuite> has no name");
    const timestamp = el.attrs.get("timestamp");
    if (timestamp !== void 0 && !DATE_TIME.test(timestamp)) fail(el, `timestamp="${timestamp}" is not a date and time`);
    const time = seconds(el, false);
    const out = { name: name2, properties: [], cases: [], ...time !== void 0 ? { time } : {}, ...timestamp !== void 0 ? { timestamp } : {} };
    for (const child of elements(el)) {
      switch (child.name) {
        case "properties":
          for (const p of elements(child)) {
            if (p.name !== "property") fail(p, `<${p.name}> inside <properties>`);
            const pname = p.attrs.get("name") ?? fail(p, "<property> has no name");
            out.properties.push([pname, p.attrs.get("value") ?? leaf(p)]);
          }
          break;
        case "testcase":
          out.cases.push(testcase(child));
          break;
        case "system-out":
          out.systemOut = leaf(child);
          break;
        case "system-err":
          out.systemErr = leaf(child);
          break;
        default:
          fail(child, `<${child.name}> inside <testsuite>`);
      }
    }
    return out;
  };
  const testcase = (el) => {
    const name2 = el.attrs.get("name") ?? fail(el, "<testcase> has no name");
    const out = { name: name2, classname: el.attrs.get("classname") ?? fail(el, "<testcase> has no classname"), time: seconds(el, true) };
    for (const child of elements(el)) {
      if (child.name === "failure" || child.name === "error" || child.name === "skipped") {
        if (out.outcome) fail(child, `<testcase name="${name2}"> has more than one outcome`);
        const message = child.attrs.get("message");
        const type = child.attrs.get("type");
        out.outcome = { element: child.name, text: leaf(child), ...message !== void 0 ? { message } : {}, ...type !== void 0 ? { type } : {} };
      } else if (child.name === "system-out") out.systemOut = leaf(child);
      else if (child.name === "system-err") out.systemErr = leaf(child);
      else if (child.name !== "flakyError" && child.name !== "rerunError") fail(child, `<${child.name}> inside <testcase>`);
    }
    return out;
  };
  if (root.name === "testsuite") return { suites: [suite(root)] };
  if (root.name !== "testsuites") fail(root, `the root is <${root.name}>, not <testsuites>`);
  const suites = elements(root).map((el) => el.name === "testsuite" ? suite(el) : fail(el, `<${el.name}> inside <testsuites>`));
  const name = root.attrs.get("name");
  return { suites, ...name !== void 0 ? { name } : {} };
}
var count = (cases, outcome2) => cases.filter((c) => c.outcome?.element === outcome2).length;
var sumSeconds = (times) => times.reduce((n, t) => n + Number(t), 0).toFixed(3);
function writeJunitXml(name, suites) {
  const out = ['<?xml version="1.0" encoding="UTF-8"?>'];
  const cases = suites.flatMap((s) => s.cases);
  const suiteTime = (s) => s.time ?? sumSeconds(s.cases.map((c) => c.time));
  const attrs = (pairs) => pairs.filter(([, v]) => v !== void 0).map(([k, v]) => ` ${k}="${escapeAttr(String(v))}"`).join("");
  out.push(
    `<testsuites${attrs([
      ["name", name],
      ["tests", cases.length],
      ["failures", count(cases, "failure")],
      ["errors", count(cases, "error")],
      ["skipped", count(cases, "skipped")],
      ["time", sumSeconds(suites.map(suiteTime))]
    ])}>`
  );
  for (const s of suites) {
    out.push(
      `  <testsuite${attrs([
        ["name", s.name],
        ["tests", s.cases.length],
        ["failures", count(s.cases, "failure")],
        ["errors", count(s.cases, "error")],
        ["skipped", count(s.cases, "skipped")],
        ["time", suiteTime(s)],
        ["timestamp", s.timestamp]
      ])}>`
    );
    if (s.properties.length > 0) {
      out.push("    <properties>");
      for (const [n, v] of s.properties) out.push(`      <property${attrs([["name", n], ["value", v]])}/>`);
      out.push("    </properties>");
    }
    for (const c of s.cases) {
      const head = `    <testcase${attrs([["classname", c.classname], ["name", c.name], ["time", c.time]])}`;
      const body = [];
      if (c.outcome) body.push(`      <${c.outcome.element}${attrs([["message", c.outcome.message], ["type", c.outcome.type]])}>${escapeText(c.outcome.text)}</${c.outcome.element}>`);
      if (c.systemOut !== void 0) body.push(`      <system-out>${escapeText(c.systemOut)}</system-out>`);
      if (c.systemErr !== void 0) body.push(`      <system-err>${escapeText(c.systemErr)}</system-err>`);
      out.push(...body.length ? [`${head}>`, ...body, "    </testcase>"] : [`${head}/>`]);
    }
    if (s.systemOut !== void 0) out.push(`    <system-out>${escapeText(s.systemOut)}</system-out>`);
    if (s.systemErr !== void 0) out.push(`    <system-err>${escapeText(s.systemErr)}</system-err>`);
    out.push("  </testsuite>");
  }
  out.push("</testsuites>", "");
  return out.join("\n");
}
function shardOfJunit(report) {
  const property = report.suites[0]?.properties.find(([n]) => n === "shard")?.[1];
  return readShard(property) ?? readShard(/^xen-pvh-virtio shard (\S+)$/.exec(report.name ?? "")?.[1]);
}
var OF_SCENARIO = /^(scenario\.file|skipped\.reason|system|warnings|warnings\.unexpected|warning\.\d+|retry\..*|rig\.builds)$/;
var RIG = /^rig\.(key|provider|cache-hit|version\..+)$/;
var SPAN = /^(\d+(?:\.\d+)?)s\.\.(\d+(?:\.\d+)?)s$/;
var AT = /^(\d+(?:\.\d+)?)s$/;
function runFromJunit(report) {
  const first = new Map(report.suites[0]?.properties ?? []);
  const isBuilds = (s) => s.properties.some(([n]) => n === BUILD_SUITE_PROPERTY);
  const result = { scenarios: report.suites.filter((s) => !isBuilds(s)).map(scenarioFromSuite), phases: [], timeline: [], properties: {} };
  const builds = report.suites.filter(isBuilds).flatMap((s) => s.cases.map(buildFromCase));
  if (builds.length > 0) result.builds = builds;
  for (const [name, value] of first) {
    if (OF_SCENARIO.test(name) || RIG.test(name)) continue;
    const span = name.startsWith("span.") ? SPAN.exec(value) : null;
    const at = name.startsWith("phase.") ? AT.exec(value) : null;
    const rest = name.slice(name.indexOf(".") + 1);
    if (span && rest.includes(".")) {
      const dot = rest.indexOf(".");
      result.timeline.push({ section: rest.slice(0, dot), name: rest.slice(dot + 1), startMs: Number(span[1]) * 1e3, endMs: Number(span[2]) * 1e3 });
    } else if (at) result.phases.push({ name: rest, atMs: Number(at[1]) * 1e3 });
    else result.properties[name] = value;
  }
  const key = first.get("rig.key");
  if (key !== void 0) {
    const versions = {};
    for (const [name, value] of first) if (name.startsWith("rig.version.")) versions[name.slice("rig.version.".length)] = value;
    result.rig = { key, provider: first.get("rig.provider") ?? "", versions, cacheHit: first.get("rig.cache-hit") === "true" };
  }
  const shard = shardOfJunit(report);
  if (shard && result.properties.shard === void 0) result.properties.shard = `${shard.index}/${shard.count}`;
  return result;
}
var STATUS_OF = { failure: "failed", error: "error", skipped: "skipped" };
function buildFromCase(c) {
  const out = c.systemOut ?? "";
  const failed = c.outcome !== void 0;
  const step = /^step: (.*)$/m.exec(out)?.[1];
  const logFile = /^log: (.*)$/m.exec(out)?.[1];
  return {
    component: c.name.replace(/^build /, ""),
    status: failed ? "failed" : "passed",
    cached: !failed && out.startsWith("cache hit"),
    durationMs: Number(c.time) * 1e3,
    ...failed && c.outcome?.message !== void 0 ? { message: c.outcome.message } : {},
    ...failed && c.outcome?.text ? { excerpt: c.outcome.text } : {},
    ...logFile !== void 0 ? { logFile } : {},
    ...step !== void 0 ? { step } : {}
  };
}
function scenarioFromSuite(suite) {
  const props = new Map(suite.properties);
  const steps = suite.cases.map((c) => {
    const status = c.outcome ? STATUS_OF[c.outcome.element] : "passed";
    const message = c.outcome?.message ?? (c.outcome?.text || void 0);
    return {
      title: c.name,
      kind: c.outcome?.element === "failure" && c.outcome.type ? c.outcome.type : "step",
      status,
      durationMs: Number(c.time) * 1e3,
      ...message !== void 0 ? { message } : {},
      ...c.systemOut ? { excerpt: c.systemOut } : {}
    };
  });
  const started = suite.timestamp ? new Date(suite.timestamp) : void 0;
  const out = {
    name: suite.name,
    file: props.get("scenario.file") ?? "",
    status: scenarioStatus(steps),
    startedAt: started && !Number.isNaN(started.getTime()) ? started : /* @__PURE__ */ new Date(0),
    durationMs: Number(suite.time ?? sumSeconds(suite.cases.map((c) => c.time))) * 1e3,
    steps
  };
  const skipReason = props.get("skipped.reason");
  if (skipReason !== void 0) {
    out.skipReason = skipReason;
    if (steps.every((s) => s.status === "skipped")) out.status = "skipped";
  }
  const system = props.get("system");
  if (system === "booted" || system === "restored") out.system = system;
  const retry = /^2 attempts; attempt 1: (passed|failed|error|skipped) in "(.*)": (.*)$/s.exec(props.get(`retry.${suite.name}`) ?? "");
  if (retry) out.retriedAfter = { status: retry[1], step: retry[2], message: retry[3], durationMs: 0 };
  const warnings = [];
  for (const [name, value] of suite.properties) {
    if (!/^warning\.\d+$/.test(name)) continue;
    const expected = value.endsWith(" [expected]");
    const text = expected ? value.slice(0, -" [expected]".length) : value;
    const colon = text.indexOf(": ");
    warnings.push({ domain: colon > 0 ? text.slice(0, colon) : "", line: colon > 0 ? text.slice(colon + 2) : text, trace: [], expected });
  }
  if (warnings.length) out.warnings = warnings;
  return out;
}

// src/merge/merge.ts
var MAX_TOTAL_CHARS = 512 * 2 ** 20;
var MERGED_NAME = "xen-pvh-virtio merged";
function readShardRuns(inputs, opts) {
  const found = findReports(inputs, opts.cwd, opts.skip);
  let total = 0;
  const read = (f) => {
    const text = readReport(f);
    total += text.length;
    if (total > MAX_TOTAL_CHARS) throw new ConfigError(`merge: the reports under ${inputs.join(", ")} hold more than ${MAX_TOTAL_CHARS / 2 ** 20} MiB; merge fewer at a time`);
    return text;
  };
  const notes = [];
  const runs = [];
  const covered = /* @__PURE__ */ new Set();
  const fingerprints = /* @__PURE__ */ new Set();
  for (const f of found.filter((x) => x.kind === "result")) {
    const { result, junit: junit2 } = parseResultFile(read(f), f.shownAs);
    if (junit2 !== void 0) covered.add(joinedPath(f.path, junit2));
    const suites = readJunit(buildJunit(result), f.shownAs).suites;
    const shard = readShard(result.properties.shard);
    const print = fingerprint(suites, shard);
    if (print) fingerprints.add(print);
    runs.push({ source: f.shownAs, ...shard ? { shard } : {}, result, suites });
  }
  for (const f of found.filter((x) => x.kind === "junit")) {
    if (covered.has(f.path)) {
      notes.push(`${f.shownAs}: the JUnit report of a run read from its result.json`);
      continue;
    }
    const text = read(f);
    if (f.walked && !looksLikeJunit(text)) {
      notes.push(`${f.shownAs}: not a JUnit report, passed over`);
      continue;
    }
    const report = readJunit(text, f.shownAs);
    if (report.name?.startsWith(MERGED_NAME)) {
      notes.push(`${f.shownAs}: a merged report, passed over`);
      continue;
    }
    const shard = shardOfJunit(report);
    const print = fingerprint(report.suites, shard);
    if (print && fingerprints.has(print)) {
      notes.push(`${f.shownAs}: the same run as a result.json already read`);
      continue;
    }
    runs.push({ source: f.shownAs, ...shard ? { shard } : {}, result: runFromJunit(report), suites: report.suites });
  }
  return { runs, notes };
}
function joinedPath(resultFile, relativeJunit) {
  return resolve2(dirname(resultFile), relativeJunit);
}
function fingerprint(suites, shard) {
  if (suites.length === 0) return void 0;
  return JSON.stringify([shard ? formatShard(shard) : "", suites.map(({ timestamp: _, ...rest }) => rest)]);
}
function mergeShardRuns(read, inputs) {
  const runs = [...read];
  const byCount = /* @__PURE__ */ new Map();
  for (const r of runs) {
    if (!r.shard) continue;
    const seen = byCount.get(r.shard.count) ?? /* @__PURE__ */ new Map();
    seen.set(r.shard.index, (seen.get(r.shard.index) ?? 0) + 1);
    byCount.set(r.shard.count, seen);
  }
  for (const [n, seen] of byCount) {
    const expected = Math.max(...seen.values());
    for (let i = 1; i <= n; i++) {
      const found = seen.get(i) ?? 0;
      for (let k = found; k < expected; k++) runs.push(missingShard({ index: i, count: n }, expected, found));
    }
  }
  if (runs.length === 0) runs.push(noReports(inputs));
  runs.sort(
    (a, b) => (a.shard?.count ?? 0) - (b.shard?.count ?? 0) || (a.shard?.index ?? 0) - (b.shard?.index ?? 0) || (a.source === void 0 ? 1 : b.source === void 0 ? -1 : a.source < b.source ? -1 : a.source > b.source ? 1 : 0)
  );
  const fatal = runs.filter((r) => r.result.fatal);
  const combined = { scenarios: runs.flatMap((r) => r.result.scenarios), phases: [], timeline: [], properties: {} };
  const builds = runs.flatMap((r) => r.result.builds ?? []);
  if (builds.length > 0) combined.builds = builds;
  if (fatal.length > 0) {
    const label = (r) => r.shard ? `shard ${formatShard(r.shard)}` : r.source ?? "a run";
    const first = fatal[0].result.fatal;
    combined.fatal = {
      status: fatal.some((r) => r.result.fatal.status === "failed") ? "failed" : "error",
      message: `${label(fatal[0])}: ${first.message}${fatal.length > 1 ? ` (and ${fatal.length - 1} more shard${fatal.length > 2 ? "s" : ""})` : ""}`,
      ...first.kind ? { kind: first.kind } : {}
    };
  }
  const rigs = runs.map((r) => r.result.rig).filter((x) => x !== void 0);
  const keys = [...new Set(rigs.map((x) => x.key))];
  const junit2 = writeJunitXml(`${MERGED_NAME} from ${read.length} report${read.length === 1 ? "" : "s"}`, runs.flatMap((r) => r.suites));
  return { runs, combined, junit: junit2, ...keys.length ? { rig: { key: keys.join(" "), cacheHit: rigs.every((x) => x.cacheHit) } } : {} };
}
function missingShard(shard, expected, found) {
  const name = `shard ${formatShard(shard)}`;
  const message = `${name} left no report (expected ${expected === 1 ? "one" : `${expected}, one per matrix row`}, found ${found === 0 ? "none" : found}): its job ended before writing one, or its artifact was not among the inputs`;
  return syntheticRun(name, message, { ...shard });
}
function noReports(inputs) {
  return syntheticRun("shard reports", `no shard report (result.json or JUnit .xml) in ${inputs.join(", ")}: no shard wrote one, or the artifacts were not downloaded`);
}
function syntheticRun(name, message, shard) {
  const result = {
    scenarios: [{ name, file: "", status: "error", startedAt: /* @__PURE__ */ new Date(), durationMs: 0, steps: [{ title: "report", kind: "report", status: "error", durationMs: 0, message }] }],
    phases: [],
    timeline: [],
    properties: shard ? { shard: formatShard(shard) } : {},
    fatal: { status: "error", message }
  };
  return { ...shard ? { shard } : {}, result, suites: readJunit(buildJunit(result), name).suites };
}
function mergedSummary(merged, paths) {
  const shards = merged.runs.map((r) => ({ shard: r.shard ? formatShard(r.shard) : "", ...r.source !== void 0 ? { source: r.source } : {}, result: r.result }));
  return buildMergedSummary(shards, merged.combined, paths);
}

// src/cli/merge.ts
var OWN = ["junit-path", "logs-dir"];
function mergeCommand(inputs, raw, io) {
  const others = OPTION_NAMES.filter((n) => raw.values[n] !== void 0 && !OWN.includes(n));
  if (others.length > 0) {
    throw new ConfigError(`merge takes ${OWN.map((n) => raw.label(n)).join(" and ")} (where the merged report goes), not ${others.map((n) => raw.label(n)).join(", ")}`);
  }
  const pick = (name) => {
    const v = raw.values[name]?.trim() || OPTIONS[name].default;
    return isAbsolute2(v) ? v : resolve3(io.cwd, v);
  };
  const paths = { junitPath: pick("junit-path"), logsDir: pick("logs-dir") };
  prepareOutputPaths({ ...paths, labels: { junitPath: raw.label("junit-path"), logsDir: raw.label("logs-dir") } });
  const read = readShardRuns(inputs, { cwd: io.cwd, skip: [paths.junitPath] });
  for (const note of read.notes) io.err(`${note}
`);
  const merged = mergeShardRuns(read.runs, inputs);
  writeFileSync(paths.junitPath, redactCredentials(merged.junit));
  const summary = mergedSummary(merged, paths);
  writeFileSync(join2(paths.logsDir, "summary.md"), summary);
  if (io.env.GITHUB_STEP_SUMMARY) appendFileSync(io.env.GITHUB_STEP_SUMMARY, summary);
  if (io.env.GITHUB_OUTPUT) appendOutputs(io.env.GITHUB_OUTPUT, outputValues(merged.combined, paths, merged.rig));
  const c = counts(merged.combined);
  const reports = merged.runs.filter((r) => r.source !== void 0).length;
  const missing = merged.runs.length - reports;
  io.err(`${reports} shard report${reports === 1 ? "" : "s"}${missing ? `, ${missing} missing` : ""}: ${c.passed} passed, ${c.failed} failed, ${c.error} errored, ${c.skipped} skipped \u2014 JUnit ${paths.junitPath}, summary ${join2(paths.logsDir, "summary.md")}
`);
  for (const r of merged.runs.filter((x) => x.result.fatal)) {
    io.err(`${r.result.fatal.status === "error" ? "infrastructure error" : "failure"}: ${r.source ?? "missing shard"}: ${r.result.fatal.message}
`);
  }
  return exitCodeFor(merged.combined);
}

// src/cli/bisect.ts
import { appendFileSync as appendFileSync2, writeFileSync as writeFileSync4 } from "node:fs";
import { join as join7 } from "node:path";

// src/bisect/driver.ts
import { join as join4 } from "node:path";

// src/bisect/result.ts
var COMPONENTS = ["xen", "qemu", "linux"];
function bisectExitCode(v) {
  switch (v.kind) {
    case "culprit":
    case "inconclusive":
    case "fails-on-good":
      return ExitCode.failed;
    case "passes-on-bad":
      return ExitCode.passed;
    case "untestable":
      return ExitCode.infrastructure;
    case "stopped":
      return v.cause === "input" ? ExitCode.usage : ExitCode.infrastructure;
  }
}
var short = (id) => id.slice(0, 12);

// src/bisect/git.ts
var ENV = { ...GIT_ENV, LANGUAGE: "C" };
function git(dir, args, opts = {}) {
  return run("git", ["-C", dir, ...args], { env: ENV, allowFailure: !opts.check });
}
function gitSaid(r) {
  return (r.stderr.trim() || r.stdout.trim()).split("\n").slice(-3).join("\n");
}
var FULL_ID = /^[0-9a-f]{40}([0-9a-f]{24})?$/;

// src/bisect/session.ts
function parseBisectOutput(text, head) {
  const found = /^([0-9a-f]{40,64}) is the first bad commit/m.exec(text);
  if (found) return { kind: "found", commit: found[1] };
  if (/only 'skip'ped commits left to test/.test(text)) {
    const after = text.slice(text.indexOf("could be any of:"));
    return { kind: "only-skipped", candidates: [...after.matchAll(/^([0-9a-f]{40,64})$/gm)].map((m) => m[1]) };
  }
  const next = /^Bisecting: (\d+) revisions? left to test after this \(roughly (\d+) steps?\)/m.exec(text);
  if (next) return { kind: "test", commit: head, left: Number(next[1]), steps: Number(next[2]) };
  return void 0;
}
async function outcome(worktree, r, what) {
  const head = (await git(worktree, ["rev-parse", "HEAD"], { check: true })).stdout.trim();
  const state = parseBisectOutput(`${r.stdout}
${r.stderr}`, head);
  if (!state) throw new InfraError(`git bisect ${what} in ${worktree} said something this harness does not understand (exit ${r.exitCode}): ${gitSaid(r)}`);
  return state;
}
async function startBisect(worktree, bad, good) {
  return outcome(worktree, await git(worktree, ["bisect", "start", bad, good, "--"]), "start");
}
async function markCommit(worktree, verdict) {
  return outcome(worktree, await git(worktree, ["bisect", verdict]), verdict);
}
async function resetBisect(worktree) {
  await git(worktree, ["bisect", "reset"]);
}
async function checkoutCommit(worktree, commit) {
  const r = await git(worktree, ["checkout", "-q", "--detach", commit]);
  if (r.exitCode !== 0) throw new InfraError(`cannot check out ${commit} in ${worktree}: ${gitSaid(r)}`);
}

// src/bisect/workspace.ts
import { createHash, randomBytes } from "node:crypto";
import { existsSync, readdirSync as readdirSync2, realpathSync as realpathSync2, statSync as statSync2, writeFileSync as writeFileSync2 } from "node:fs";
import { mkdir, rename, rm } from "node:fs/promises";
import { join as join3, resolve as resolve4 } from "node:path";
function localFolder(repo, cwd) {
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(repo) || /^[^/]+@[^/:]+:/.test(repo)) return void 0;
  const path = resolve4(cwd, repo);
  return existsSync(path) && statSync2(path).isDirectory() ? realpathSync2(path) : void 0;
}
var Workspace = class _Workspace {
  constructor(gitDir, base, source, local, label) {
    this.gitDir = gitDir;
    this.base = base;
    this.source = source;
    this.local = local;
    this.label = label;
  }
  gitDir;
  base;
  source;
  local;
  label;
  fetched = false;
  /** The repository as shown to people. */
  get shownAs() {
    return redactCredentials(this.source);
  }
  /** Opens (cloning on first use) the workspace of `repo` under `cacheDir`. */
  static async open(repo, where) {
    const folder = localFolder(repo, where.cwd);
    const source = folder ?? repo;
    const base = join3(where.cacheDir, "bisect", createHash("sha256").update(source).digest("hex").slice(0, 16));
    const gitDir = join3(base, "repo.git");
    const ws = new _Workspace(gitDir, base, source, folder !== void 0, where.label);
    if (!existsSync(join3(gitDir, "HEAD"))) await ws.clone(where.log);
    markUsed(where.cacheDir, base);
    await ws.dropStaleCheckouts();
    return ws;
  }
  /** A full clone made beside its place and renamed in: an interrupted clone leaves nothing half-made at `gitDir`. */
  async clone(log) {
    log(`cloning ${this.shownAs} (all branches and tags) into ${this.gitDir}; later bisections of it reuse the clone`);
    await mkdir(this.base, { recursive: true });
    writeFileSync2(join3(this.base, "repository"), `${this.shownAs}
`);
    const partial = `${this.gitDir}.partial-${process.pid}`;
    await rm(partial, { recursive: true, force: true });
    await git(this.base, ["init", "-q", "--bare", partial], { check: true });
    await git(partial, ["remote", "add", "origin", this.source], { check: true });
    await git(partial, ["config", "remote.origin.fetch", "+refs/heads/*:refs/heads/*"], { check: true });
    const r = await git(partial, ["fetch", "-q", "--tags", "origin"]);
    if (r.exitCode !== 0) {
      await rm(partial, { recursive: true, force: true });
      throw new ConfigError(`${this.label} ${this.shownAs}: cannot clone it: ${redactCredentials(gitSaid(r))}`);
    }
    try {
      await rename(partial, this.gitDir);
    } catch (e) {
      await rm(partial, { recursive: true, force: true });
      if (!existsSync(join3(this.gitDir, "HEAD"))) throw e;
    }
    this.fetched = true;
  }
  /** Fetches new branches, tags and commits, once per bisection. */
  async fetch() {
    if (this.fetched) return;
    this.fetched = true;
    const r = await git(this.gitDir, ["fetch", "-q", "--prune", "--tags", "origin"]);
    if (r.exitCode !== 0) throw new InfraError(`cannot fetch ${this.shownAs}: ${redactCredentials(gitSaid(r))}`);
  }
  async revParse(ref) {
    if (ref.startsWith("-")) return void 0;
    const r = await git(this.gitDir, ["rev-parse", "--verify", "--quiet", "--end-of-options", `${ref}^{commit}`]);
    return r.exitCode === 0 ? r.stdout.trim() : void 0;
  }
  /**
   * The commit id `ref` names (a branch, a tag, a commit id, `ref~3`…); a ConfigError naming
   * `label` (--good, --bad) when the repository has no such commit. A local checkout's own
   * names (HEAD, its remote-tracking branches) are read in the checkout itself.
   */
  async resolve(ref, label) {
    const missing = () => new ConfigError(`${label} ${ref}: no such branch, tag or commit in ${this.shownAs}`);
    if (ref.trim() === "" || ref.startsWith("-")) throw missing();
    let id;
    if (this.local) {
      const r = await git(this.source, ["-c", `safe.directory=${this.source}`, "rev-parse", "--verify", "--quiet", "--end-of-options", `${ref}^{commit}`]);
      if (r.exitCode !== 0) throw missing();
      id = r.stdout.trim();
      if (!await this.revParse(id)) await this.fetchCommit(id);
    } else {
      if (!FULL_ID.test(ref) || !await this.revParse(ref)) await this.fetch();
      id = await this.revParse(ref);
      if (!id && FULL_ID.test(ref)) {
        await this.fetchCommit(ref);
        id = await this.revParse(ref);
      }
    }
    if (!id) throw missing();
    return id;
  }
  async fetchCommit(id) {
    await git(this.gitDir, ["fetch", "-q", "origin", id]);
  }
  async isAncestor(older, newer) {
    const r = await git(this.gitDir, ["merge-base", "--is-ancestor", older, newer]);
    if (r.exitCode > 1) throw new InfraError(`git merge-base in ${this.gitDir}: ${gitSaid(r)}`);
    return r.exitCode === 0;
  }
  /** Commits in good..bad: where the first bad commit can be. */
  async countBetween(good, bad) {
    const r = await git(this.gitDir, ["rev-list", "--count", `${good}..${bad}`], { check: true });
    return Number(r.stdout.trim());
  }
  async commitInfo(id) {
    const r = await git(this.gitDir, ["show", "-s", "--format=%H%x00%s%x00%an <%ae>%x00%aI", id], { check: true });
    const [full, subject, author, date] = r.stdout.replace(/\n$/, "").split("\0");
    return { id: full, subject: subject ?? "", author: author ?? "", date: date ?? "" };
  }
  /** A new worktree with `commit` checked out (detached), for this bisection alone. */
  async addCheckout(commit) {
    const dir = join3(this.base, "checkouts", `${process.pid}-${randomBytes(4).toString("hex")}`);
    await mkdir(join3(this.base, "checkouts"), { recursive: true });
    const r = await git(this.gitDir, ["worktree", "add", "-q", "--detach", dir, commit]);
    if (r.exitCode !== 0) throw new InfraError(`cannot check out ${commit} in ${dir}: ${gitSaid(r)}`);
    return dir;
  }
  async removeCheckout(dir) {
    await git(this.gitDir, ["worktree", "remove", "--force", dir]);
    await rm(dir, { recursive: true, force: true });
    await git(this.gitDir, ["worktree", "prune"]);
  }
  /** Checkouts left by a bisection that was killed (its process is gone). */
  async dropStaleCheckouts() {
    const dir = join3(this.base, "checkouts");
    const names = existsSync(dir) ? readdirSync2(dir) : [];
    for (const name of names) {
      const pid = Number(/^(\d+)-/.exec(name)?.[1]);
      if (pid && pid !== process.pid && !processAlive(pid)) await rm(join3(dir, name), { recursive: true, force: true });
    }
    await git(this.gitDir, ["worktree", "prune"]);
  }
};

// src/bisect/driver.ts
var stepsFor = (commits) => Math.ceil(Math.log2(Math.max(1, commits)));
async function bisect(input, deps) {
  const startedAt = /* @__PURE__ */ new Date();
  const { labels } = input;
  const { log } = deps;
  const ws = await Workspace.open(input.repo, { cacheDir: input.cacheDir, cwd: input.cwd, label: labels.repo, log });
  const good = await ws.resolve(input.good, labels.good);
  const bad = await ws.resolve(input.bad, labels.bad);
  if (good === bad) throw new ConfigError(`${labels.good} ${input.good} and ${labels.bad} ${input.bad} are the same commit ${short(good)}: nothing to bisect`);
  if (!await ws.isAncestor(good, bad)) {
    const swapped = await ws.isAncestor(bad, good);
    throw new ConfigError(
      `${labels.good} ${input.good} (${short(good)}) is not an ancestor of ${labels.bad} ${input.bad} (${short(bad)})` + (swapped ? `: it is the other way round; are ${labels.good} and ${labels.bad} swapped?` : ": they are on different lines of history; the good commit must be on the bad one's history")
    );
  }
  const commits = await ws.countBetween(good, bad);
  const [goodInfo, badInfo] = [await ws.commitInfo(good), await ws.commitInfo(bad)];
  log(
    `bisect ${input.component} in ${ws.shownAs}: the first bad commit is one of the ${commits} after good ${short(good)} up to bad ${short(bad)}; the two ends are tested first, then about ${stepsFor(commits)} more`
  );
  const signal = deps.signal ?? new AbortController().signal;
  const steps = [];
  const result = (verdict) => ({
    component: input.component,
    repo: ws.shownAs,
    good: goodInfo,
    bad: badInfo,
    commits,
    scenarios: input.scenarios,
    steps,
    verdict,
    startedAt,
    durationMs: Date.now() - startedAt.getTime()
  });
  const interrupted = () => result({ kind: "stopped", cause: "interrupted", reason: `stopped by ${String(signal.reason ?? "a signal")} ${steps.length ? `during step ${steps.length}` : "before the first step"}` });
  const worktree = await ws.addCheckout(bad);
  const test = async (commit, role, note = "") => {
    if (signal.aborted) throw new Error("stopped");
    const info = await ws.commitInfo(commit);
    const n = steps.length + 1;
    log(`step ${n} (${role}${note}): testing ${short(commit)} ${info.subject}`);
    const t0 = Date.now();
    const out = await deps.runStep({ n, commit, worktree, dir: join4(input.logsDir, `step-${n}`), signal });
    const record = { n, commit: info, role, verdict: out.verdict, durationMs: Date.now() - t0, ...out.reason ? { reason: out.reason } : {}, ...out.log ? { log: out.log } : {} };
    steps.push(record);
    log(`step ${n}: ${short(commit)} is ${out.verdict === "skip" ? "skipped" : out.verdict}${out.reason ? ` (${out.reason})` : ""}, ${formatDuration(record.durationMs)}${out.log ? `; log ${out.log}` : ""}`);
    return record;
  };
  try {
    const atBad = await test(bad, "bad end");
    if (signal.aborted) return interrupted();
    if (atBad.verdict === "good") return result({ kind: "passes-on-bad" });
    if (atBad.verdict === "skip") return result({ kind: "untestable", end: "bad", reason: atBad.reason ?? "skipped" });
    await checkoutCommit(worktree, good);
    const atGood = await test(good, "good end");
    if (signal.aborted) return interrupted();
    if (atGood.verdict === "bad") return result({ kind: "fails-on-good" });
    if (atGood.verdict === "skip") return result({ kind: "untestable", end: "good", reason: atGood.reason ?? "skipped" });
    let state = await startBisect(worktree, bad, good);
    while (state.kind === "test") {
      const left = state.left !== void 0 ? `, ${state.left} left after it, about ${state.steps} more step${state.steps === 1 ? "" : "s"}` : "";
      const record = await test(state.commit, "bisect", left);
      if (signal.aborted) return interrupted();
      state = await markCommit(worktree, record.verdict);
    }
    if (state.kind === "found") return result({ kind: "culprit", culprit: await ws.commitInfo(state.commit) });
    const candidates = [];
    for (const id of state.candidates) candidates.push(await ws.commitInfo(id));
    return result({ kind: "inconclusive", candidates });
  } catch (e) {
    if (signal.aborted) return interrupted();
    const reason = e.message;
    return result({ kind: "stopped", cause: e instanceof ConfigError ? "input" : "error", reason });
  } finally {
    await resetBisect(worktree);
    await ws.removeCheckout(worktree);
  }
}

// src/bisect/junit.ts
var import_junit_report_builder = __toESM(require_dist(), 1);
import { mkdirSync, writeFileSync as writeFileSync3 } from "node:fs";
import { dirname as dirname2 } from "node:path";

// src/bisect/summary.ts
import { relative as relative2 } from "node:path";
var ICON = { good: "\u2705 good", bad: "\u274C bad", skip: "\u23ED\uFE0F skip" };
var cell = (text) => plain(text.replace(/\r?\n/g, " ").slice(0, 300));
function verdictLine(r) {
  const v = r.verdict;
  switch (v.kind) {
    case "culprit":
      return `first bad commit: ${v.culprit.id} ${v.culprit.subject}`;
    case "inconclusive":
      return `inconclusive: only skipped commits are left, and the first bad commit is one of ${v.candidates.length}: ${v.candidates.map((c) => short(c.id)).join(", ")}`;
    case "passes-on-bad":
      return `the scenarios pass on bad ${r.bad.id}: nothing to bisect`;
    case "fails-on-good":
      return `the scenarios fail on good ${r.good.id} too: no regression between good and bad to bisect`;
    case "untestable":
      return `cannot bisect: the ${v.end} end ${(v.end === "good" ? r.good : r.bad).id} could not be tested: ${v.reason}`;
    case "stopped":
      return `bisect stopped: ${v.reason}`;
  }
}
var who = (c) => `${c.author}, ${c.date}`;
function verdictText(r) {
  const v = r.verdict;
  if (v.kind === "culprit") return `first bad commit: ${v.culprit.id}
    ${v.culprit.subject}
    author: ${who(v.culprit)}
`;
  if (v.kind === "inconclusive") {
    return `inconclusive: only skipped commits are left; the first bad commit is one of:
${v.candidates.map((c) => `    ${c.id} ${c.subject} (${who(c)})
`).join("")}`;
  }
  return `${verdictLine(r)}
`;
}
function heading(r) {
  const v = r.verdict;
  const what = `xen-pvh-virtio bisect ${r.component}`;
  switch (v.kind) {
    case "culprit":
      return `## ${what}: first bad commit ${code(short(v.culprit.id))} ${cell(v.culprit.subject)}`;
    case "inconclusive":
      return `## ${what}: inconclusive, the first bad commit is one of ${v.candidates.length}`;
    case "passes-on-bad":
      return `## ${what}: the scenarios pass on bad ${code(short(r.bad.id))}, nothing to bisect`;
    case "fails-on-good":
      return `## ${what}: the scenarios fail on good ${code(short(r.good.id))} too, nothing to bisect`;
    case "untestable":
      return `## ${what}: the ${v.end} end could not be tested`;
    case "stopped":
      return `## ${what}: stopped`;
  }
}
function commitBlock(c) {
  return [`> **${code(c.id)}** ${cell(c.subject)}  `, `> ${cell(who(c))}`, ""];
}
function bisectMarkdown(r, paths) {
  const v = r.verdict;
  const lines = [heading(r), ""];
  if (v.kind === "culprit") lines.push(...commitBlock(v.culprit));
  if (v.kind === "inconclusive") {
    lines.push("Only commits that could not be tested are left (see the skips below); the first bad commit is one of:", "");
    for (const c of v.candidates) lines.push(`- ${code(c.id)} ${cell(c.subject)} (${cell(who(c))})`);
    lines.push("");
  }
  if (v.kind === "untestable" || v.kind === "stopped") lines.push(`> ${cell(v.reason)}`, "");
  const atBad = r.steps.find((s) => s.role === "bad end");
  lines.push(
    `Scenarios ${code(r.scenarios.replace(/\n/g, " "))} on ${r.component} from ${code(r.repo)}: good ${code(short(r.good.id))}, bad ${code(short(r.bad.id))}${atBad?.verdict === "bad" && atBad.reason ? ` (${cell(atBad.reason)})` : ""}; ${r.commits} commit${r.commits === 1 ? "" : "s"} after good up to bad; ${r.steps.length} step${r.steps.length === 1 ? "" : "s"} in ${formatDuration(r.durationMs)}.`,
    ""
  );
  if (r.steps.length > 0) {
    lines.push("| Step | Commit | Subject | Verdict | Reason | Duration | Log |", "| --- | --- | --- | --- | --- | --- | --- |");
    for (const s of r.steps) {
      const log = s.log ? code(relative2(paths.logsDir, s.log)) : "";
      lines.push(`| ${s.n} (${s.role}) | ${code(short(s.commit.id))} | ${cell(s.commit.subject)} | ${ICON[s.verdict]} | ${cell(s.reason ?? "")} | ${formatDuration(s.durationMs)} | ${log} |`);
    }
    lines.push("");
  }
  lines.push(`JUnit: ${code(paths.junitPath)} \xB7 logs: ${code(paths.logsDir)}`, "");
  return lines.join("\n");
}
function bisectOutputs(r) {
  const v = r.verdict;
  return {
    verdict: v.kind,
    culprit: v.kind === "culprit" ? v.culprit.id : "",
    "culprit-subject": v.kind === "culprit" ? v.culprit.subject : "",
    candidates: v.kind === "inconclusive" ? v.candidates.map((c) => c.id).join(" ") : ""
  };
}

// src/bisect/junit.ts
var junit = import_junit_report_builder.default;
function clean(text) {
  return text.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, "").replace(/[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufffe\uffff]/g, "").replaceAll("]]>", "]] >");
}
function skippedWith(tc, message) {
  tc.skipped();
  const build = tc.build.bind(tc);
  tc.build = (parent) => {
    const element = build(parent);
    for (const child of element.children) {
      if (child.name === "skipped") child.att("message", clean(message));
    }
    return element;
  };
}
function addStep(tc, component, s) {
  tc.className(`xen-pvh-virtio.bisect.${component}`).name(clean(`step ${s.n} (${s.role}): ${short(s.commit.id)} ${s.commit.subject}`)).time(s.durationMs / 1e3);
  if (s.verdict === "bad") tc.failure(clean(s.reason ?? "the scenarios failed"), "product");
  if (s.verdict === "skip") skippedWith(tc, s.reason ?? "skipped");
  tc.standardOutput(clean([`commit ${s.commit.id}`, `author ${s.commit.author}, ${s.commit.date}`, ...s.log ? [`log ${s.log}`] : []].join("\n")));
}
function bisectJunit(r) {
  const builder = junit.newBuilder();
  builder.name(`xen-pvh-virtio bisect ${r.component}`);
  const suite = builder.testSuite().name(`bisect ${r.component}`).timestamp(r.startedAt).time(r.durationMs / 1e3);
  suite.property("bisect.component", r.component).property("bisect.repository", r.repo);
  suite.property("bisect.good", r.good.id).property("bisect.bad", r.bad.id).property("bisect.commits", String(r.commits));
  suite.property("bisect.scenarios", clean(r.scenarios.replace(/\n/g, " "))).property("bisect.verdict", r.verdict.kind);
  if (r.verdict.kind === "culprit") suite.property("bisect.culprit", r.verdict.culprit.id);
  for (const s of r.steps) addStep(suite.testCase(), r.component, s);
  const last = suite.testCase().className(`xen-pvh-virtio.bisect.${r.component}`).name("first bad commit").time(0);
  const v = r.verdict;
  const line = clean(verdictLine(r));
  switch (v.kind) {
    case "culprit":
      last.failure(clean(`first bad commit: ${v.culprit.id} ${v.culprit.subject} (${v.culprit.author}, ${v.culprit.date})`), "bisect");
      break;
    case "inconclusive":
    case "fails-on-good":
      last.failure(line, "bisect");
      break;
    case "passes-on-bad":
      skippedWith(last, line);
      break;
    case "untestable":
      last.error(line, "infrastructure");
      break;
    case "stopped":
      last.error(line, v.cause === "input" ? "configuration" : "infrastructure");
      break;
  }
  return redactCredentials(builder.build());
}
function writeBisectJunit(r, path) {
  mkdirSync(dirname2(path), { recursive: true });
  writeFileSync3(path, bisectJunit(r));
}

// src/bisect/pin.ts
function builtFromRefs(req) {
  const o = req.runOptions;
  return COMPONENTS.filter((c) => {
    if (c === req.component || o[`${c}-path`]?.trim()) return false;
    if (c === "linux") return Boolean(o["linux-repo"]?.trim() || o["linux-ref"]?.trim());
    return o.rig === "source";
  });
}
async function pinOtherComponents(req, log) {
  const runOptions = { ...req.runOptions };
  for (const c of builtFromRefs(req)) {
    const repoInput = `${c}-repo`;
    const refInput = `${c}-ref`;
    const defaults = OPTIONS;
    const repo = runOptions[repoInput]?.trim() || defaults[repoInput]?.default || DEFAULT_LINUX_REPO;
    const ref = runOptions[refInput]?.trim() || defaults[refInput]?.default || "master";
    if (FULL_ID.test(ref)) continue;
    const resolved = await resolveRef({ repoInput, refInput, repo, ref });
    runOptions[refInput] = resolved.commit;
    log(`${c} stays at ${short(resolved.commit)} (${ref} now) for every step`);
  }
  return { ...req, runOptions };
}

// src/bisect/request.ts
import { join as join5, resolve as resolve5 } from "node:path";
var BISECT_FLAGS = ["good", "bad", "repo"];
var DEFAULT_REPO = {
  xen: OPTIONS["xen-repo"].default,
  qemu: OPTIONS["qemu-repo"].default,
  linux: DEFAULT_LINUX_REPO
};
var treeOptions = (c) => [`${c}-repo`, `${c}-ref`, `${c}-path`];
function stepOptions(req, worktree, dir) {
  return {
    ...req.runOptions,
    scenarios: req.scenarios,
    [`${req.component}-path`]: worktree,
    "logs-dir": dir,
    "junit-path": join5(dir, "junit.xml")
  };
}
function stepArgs(options) {
  return ["run", ...Object.entries(options).map(([name, value]) => `--${name}=${value}`)];
}
function readBisectRequest(words, raw, own, where) {
  const usage = "xen-pvh-virtio bisect COMPONENT [SCENARIO\u2026] --good REF --bad REF [--repo URL|DIR]";
  const [component, ...scenarioWords] = words;
  if (component === void 0) throw new ConfigError(`bisect needs a component, xen, qemu or linux: ${usage}`);
  if (!COMPONENTS.includes(component)) throw new ConfigError(`bisect: unknown component "${component}"; expected xen, qemu or linux: ${usage}`);
  const c = component;
  const given = (name) => raw.values[name]?.trim() || void 0;
  const scenarios = scenarioWords.length > 0 ? scenarioWords.join("\n") : given("scenarios");
  if (!scenarios) throw new ConfigError(`bisect needs the scenarios each step runs (SCENARIO\u2026 or ${raw.label("scenarios")}): the first bad commit is the first where they fail`);
  for (const flag of ["good", "bad"]) {
    if (!own[flag]?.trim()) {
      throw new ConfigError(`--${flag}: required: the ${flag === "good" ? "last known good commit (where the scenarios pass)" : "first known bad commit (where they fail)"} of ${c}, as a branch, tag or commit id`);
    }
  }
  if (given(`${c}-ref`)) {
    throw new ConfigError(`${raw.label(`${c}-ref`)}: bisect tests the commits of ${c} between --good and --bad; give those instead`);
  }
  if (given("shard")) throw new ConfigError(`${raw.label("shard")}: bisect runs all the given scenarios at every step`);
  const named = [
    ...own.repo?.trim() ? [{ label: "--repo", value: own.repo.trim() }] : [],
    ...["repo", "path"].flatMap((kind) => {
      const name = `${c}-${kind}`;
      return given(name) ? [{ label: raw.label(name), value: given(name) }] : [];
    })
  ];
  if (named.length > 1) throw new ConfigError(`${named.map((n) => n.label).join(" and ")} each name the ${c} repository to bisect; give one`);
  const repo = named[0] ?? { label: "--repo", value: DEFAULT_REPO[c] };
  if (repo.value.startsWith("-")) throw new ConfigError(`${repo.label} ${repo.value}: not a repository URL or folder`);
  const rig = given("rig");
  if (c !== "linux" && rig !== void 0 && rig !== "source") {
    throw new ConfigError(`${raw.label("rig")} ${rig}: bisecting ${c} builds it from each commit, which only rig source does (bisect's default for ${c})`);
  }
  const runOptions = {};
  const notPassed = /* @__PURE__ */ new Set(["scenarios", "junit-path", "logs-dir", "shard", ...treeOptions(c)]);
  for (const name of OPTION_NAMES) {
    const v = raw.values[name];
    if (v !== void 0 && !notPassed.has(name)) runOptions[name] = v;
  }
  if (c !== "linux") runOptions.rig = "source";
  if (raw.values["incremental-builds"] === void 0) runOptions["incremental-builds"] = "true";
  const abs = (p) => resolve5(where.cwd, p);
  const logsDir = abs(given("logs-dir") ?? OPTIONS["logs-dir"].default);
  const junitPath = abs(given("junit-path") ?? OPTIONS["junit-path"].default);
  const plan = resolvePlan(
    { values: stepOptions({ component: c, runOptions, scenarios }, join5(where.cwd, `${c}-checkout`), join5(logsDir, "step-1")), label: raw.label },
    where
  );
  runOptions["cache-dir"] = plan.cache.dir;
  return {
    component: c,
    repo: repo.value,
    good: own.good.trim(),
    bad: own.bad.trim(),
    labels: { repo: repo.label, good: "--good", bad: "--bad" },
    scenarios,
    cacheDir: plan.cache.dir,
    cwd: where.cwd,
    logsDir,
    junitPath,
    runOptions
  };
}

// src/bisect/step-run.ts
import { spawn } from "node:child_process";
import { closeSync as closeSync2, existsSync as existsSync2, openSync as openSync2, readFileSync, readSync as readSync2, statSync as statSync3, writeSync } from "node:fs";
import { mkdir as mkdir2, rm as rm2 } from "node:fs/promises";
import { join as join6 } from "node:path";

// src/bisect/step-outcome.ts
var firstLine = (text) => {
  const line = text.trim().split("\n")[0].trim();
  return line.length > 300 ? `${line.slice(0, 299)}\u2026` : line;
};
function logLine(tail2, prefix) {
  const lines = tail2.split("\n").filter((l) => l.startsWith(prefix));
  return lines.length ? lines[lines.length - 1].slice(prefix.length).trim() : void 0;
}
function readResult(text) {
  if (text === void 0) return void 0;
  try {
    return parseResultFile(text, "result.json").result;
  } catch {
    return void 0;
  }
}
function failedBuild(result) {
  const failed = result?.builds?.find((b) => b.status === "failed");
  return failed ? `${failed.component}: ${firstLine(failed.message ?? "failed")}` : void 0;
}
function firstEnded(result, status) {
  for (const s of result?.scenarios ?? []) {
    if (s.status !== status) continue;
    const step = s.steps.find((x) => x.status === status);
    return `${s.name}: ${step ? `${step.title}: ${firstLine(step.message ?? status)}` : status}`;
  }
  return void 0;
}
function classifyStep(exit) {
  const result = readResult(exit.resultText);
  const log = { log: exit.log };
  const build = failedBuild(result);
  switch (exit.code) {
    case 0: {
      if (!result) return { verdict: "skip", reason: "the run passed but left no result.json to confirm it", ...log };
      const skipped = result.scenarios.find((s) => s.status !== "passed");
      if (skipped) return { verdict: "skip", reason: `scenario ${skipped.name} was ${skipped.status}${skipped.skipReason ? `: ${firstLine(skipped.skipReason)}` : ""}`, ...log };
      return { verdict: "good", ...log };
    }
    case 1: {
      if (build) return { verdict: "skip", reason: `build failure: ${build}`, ...log };
      const fatal = result?.fatal?.status === "failed" ? firstLine(result.fatal.message) : void 0;
      return { verdict: "bad", reason: firstEnded(result, "failed") ?? fatal ?? logLine(exit.logTail, "failure:") ?? "a scenario failed", ...log };
    }
    case 2: {
      const said = logLine(exit.logTail, "error:") ?? (result?.fatal ? firstLine(result.fatal.message) : "see its log");
      throw new ConfigError(`the run refused its input (exit 2), and every step would: ${said} (log ${exit.log})`);
    }
    case 3: {
      if (build) return { verdict: "skip", reason: `build failure: ${build}`, ...log };
      const why = (result?.fatal ? firstLine(result.fatal.message) : void 0) ?? firstEnded(result, "error") ?? logLine(exit.logTail, "infrastructure error:") ?? "see its log";
      return { verdict: "skip", reason: `infrastructure error: ${why}`, ...log };
    }
    default:
      return { verdict: "skip", reason: exit.signal ? `the run was ended by ${exit.signal}` : `the run exited with ${exit.code}`, ...log };
  }
}

// src/bisect/step-run.ts
function tail(file) {
  if (!existsSync2(file)) return "";
  const size = statSync3(file).size;
  const length = Math.min(size, 64 * 1024);
  const buf = Buffer.alloc(length);
  const fd = openSync2(file, "r");
  try {
    return buf.subarray(0, readSync2(fd, buf, 0, length, size - length)).toString("utf8");
  } finally {
    closeSync2(fd);
  }
}
function killGroup(pid, signal) {
  try {
    process.kill(-pid, signal);
  } catch {
  }
}
function childEnv(env) {
  const out = { ...env };
  delete out.GITHUB_STEP_SUMMARY;
  delete out.GITHUB_OUTPUT;
  return out;
}
async function runChild(req, step, opts, log) {
  const args = [opts.cli.script, ...stepArgs(stepOptions(req, step.worktree, step.dir))];
  const fd = openSync2(log, "w");
  let child;
  try {
    writeSync(fd, redactCredentials(`$ ${[opts.cli.node, ...args].map((a) => /^[\w./=:@%+,-]+$/.test(a) ? a : `'${a.replaceAll("'", "'\\''")}'`).join(" ")}
`));
    child = spawn(opts.cli.node, args, { cwd: opts.cwd, env: childEnv(opts.env), detached: true, stdio: ["ignore", fd, fd] });
  } finally {
    closeSync2(fd);
  }
  const pid = child.pid;
  let timer;
  const stop = () => {
    if (pid === void 0) return;
    killGroup(pid, "SIGTERM");
    timer = setTimeout(() => killGroup(pid, "SIGKILL"), opts.graceMs ?? 3e4);
  };
  try {
    return await new Promise((res, rej) => {
      child.once("error", (e) => rej(new InfraError(`cannot start the step's run (${opts.cli.node} ${opts.cli.script}): ${e.message}`, { cause: e })));
      child.once("exit", (code2, signal) => res({ code: code2, signal }));
      if (step.signal.aborted) stop();
      else step.signal.addEventListener("abort", stop, { once: true });
    });
  } finally {
    step.signal.removeEventListener("abort", stop);
    if (timer) clearTimeout(timer);
    if (pid !== void 0) killGroup(pid, "SIGKILL");
  }
}
function childStepRunner(req, opts) {
  return async (step) => {
    await rm2(step.dir, { recursive: true, force: true });
    await mkdir2(step.dir, { recursive: true });
    const log = join6(step.dir, "cli.log");
    const ended = await runChild(req, step, opts, log);
    if (step.signal.aborted) return { verdict: "skip", reason: "stopped", log };
    const resultFile = join6(step.dir, RESULT_FILE);
    return classifyStep({ ...ended, log, logTail: tail(log), ...existsSync2(resultFile) ? { resultText: readFileSync(resultFile, "utf8") } : {} });
  };
}

// src/cli/bisect.ts
var BISECT_USAGE = `Usage: xen-pvh-virtio bisect COMPONENT [SCENARIO\u2026] --good REF --bad REF [--repo URL|DIR] [options]

Finds the first commit of COMPONENT (xen, qemu or linux) between --good (the scenarios pass)
and --bad (they fail) where the scenarios fail. Each step checks one commit out, builds it
with rig source (linux: with --linux-path on the rig you choose) and runs the scenarios:
  xen-pvh-virtio run SCENARIO\u2026 --<component>-path <checkout> --logs-dir <logs-dir>/step-N \u2026
passed \u2192 good; a scenario failed \u2192 bad; a build failure or an infrastructure error \u2192 skip.
Built components stay in the cache, so no commit is ever built twice.

Bad first: if the scenarios pass on --bad there is nothing to bisect; then --good: if they
fail there too, nothing to bisect either. Then git bisect picks the commits between them.

  --good REF        last known good commit: a branch, tag or commit id (required)
  --bad REF         first known bad commit (required)
  --repo URL|DIR    the repository (default: --xen-repo / --qemu-repo / --linux-repo, or
                    their defaults; --<component>-path DIR takes a local checkout, which is
                    cloned, never changed). Cloned in full once into <cache-dir>/bisect/.
  Every run option (--xen-patches, --qemu-ref for the other component, --timeout-minutes
  per step, --fail-on-warnings, --cache-dir, \u2026) is passed on to each step's run. The other
  components built from a branch (QEMU's master in a Xen bisection) are pinned to the
  commit it names when the bisection starts, so steps differ only in the commit tested.
  --logs-dir DIR    bisect.md (the verdict, then every step) and step-N/ (each run's logs,
                    its output in step-N/cli.log); default xen-pvh-virtio/logs
  --junit-path FILE JUnit: suite "bisect COMPONENT", a case per step and "first bad commit"

In a workflow step it also appends bisect.md to the job summary and sets the outputs
verdict (culprit | inconclusive | passes-on-bad | fails-on-good | untestable | stopped),
culprit, culprit-subject and candidates.

Exit codes: 1 the scenarios fail on bad and the verdict says where (a culprit, the candidates
when only skipped commits are left, or "fails on good too"); 0 they pass on bad (nothing to
bisect); 2 bad input (also when a step's run refuses its input); 3 an end could not be
tested (build failure, infrastructure error) or the bisect was stopped (SIGINT/SIGTERM).
`;
async function bisectCommand(argv, io, deps = {}) {
  const parsed = parseCommandLine(argv, BISECT_FLAGS);
  if (parsed.help) {
    io.out(BISECT_USAGE);
    return ExitCode.passed;
  }
  const asked = readBisectRequest(parsed.words, parsed.raw, parsed.own, { cwd: io.cwd, env: io.env });
  prepareOutputPaths({ junitPath: asked.junitPath, logsDir: asked.logsDir, labels: { junitPath: parsed.raw.label("junit-path"), logsDir: parsed.raw.label("logs-dir") } });
  const start = Date.now();
  const log = (line) => io.err(`[${((Date.now() - start) / 1e3).toFixed(1).padStart(7)}s] bisect: ${line}
`);
  const req = await pinOtherComponents(asked, log);
  const graceMs = deps.graceMs ?? 3e4;
  const runStep = deps.runStep ?? childStepRunner(req, { cli: deps.cli ?? { node: process.execPath, script: process.argv[1] }, env: io.env, cwd: io.cwd, graceMs });
  const cancel = cancelOnSignals(io, graceMs + 3e4);
  const result = await bisect(req, { runStep, log, signal: cancel.signal }).finally(cancel.dispose);
  const markdown = bisectMarkdown(result, req);
  const report = join7(req.logsDir, "bisect.md");
  writeFileSync4(report, markdown);
  writeBisectJunit(result, req.junitPath);
  if (io.env.GITHUB_STEP_SUMMARY) appendFileSync2(io.env.GITHUB_STEP_SUMMARY, markdown);
  if (io.env.GITHUB_OUTPUT) appendOutputs(io.env.GITHUB_OUTPUT, bisectOutputs(result));
  io.err(verdictText(result));
  io.err(`bisect report ${report}, JUnit ${req.junitPath}
`);
  return bisectExitCode(result.verdict);
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
  xen-pvh-virtio merge DIR|FILE\u2026               join a matrix's shard reports (--shard i/n runs:
                                               their folders, JUnit files, result.json files)
                                               into one JUnit report (--junit-path) and summary
                                               (in --logs-dir); exits as a run would
  xen-pvh-virtio bisect COMPONENT [SCENARIO\u2026] --good REF --bad REF [--repo URL|DIR]
                                               find the first commit of xen, qemu or linux
                                               where the scenarios fail: builds and runs
                                               each step (bisect --help: flags, exit codes)
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
    if (argv[0] === "bisect") return await bisectCommand(argv.slice(1), io);
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
        const shard = result.properties.shard ? ` (shard ${result.properties.shard})` : "";
        io.err(`${c.passed} passed, ${c.failed} failed, ${c.error} errored, ${c.skipped} skipped${shard} \u2014 JUnit ${plan.junitPath}, logs ${plan.logsDir}
`);
        const warnings = new Set(result.scenarios.flatMap((x) => (x.warnings ?? []).map((w) => `${w.domain}: ${w.line}${w.expected ? " (expected)" : ""}`)));
        for (const w of warnings) io.err(`kernel/Xen warning: ${w}
`);
        for (const b of (result.builds ?? []).filter((x) => x.status === "failed")) {
          io.err(`build ${b.component} failed${b.step ? ` at ${b.step}` : ""}: ${b.message ?? ""}${b.logFile ? ` (log ${b.logFile})` : ""}
`);
        }
        if (result.fatal) io.err(`${result.fatal.kind?.toLowerCase() ?? (result.fatal.status === "error" ? "infrastructure error" : "failure")}: ${result.fatal.message}
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
        io.out(`${isExport ? await exportRig(got.rig, resolve6(io.cwd, rest[1]), hooks.info) : got.rig.dir}
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
      case "merge":
        return mergeCommand(rest, parsed.raw, io);
      case "setup": {
        await ensureHostTools(["boot", "rig-debian", "rig-source", "tests"], { log: (line) => io.err(`${line}
`) });
        return ExitCode.passed;
      }
      default:
        throw new ConfigError(`unknown command: ${command}; see --help`);
    }
  } catch (e) {
    const code2 = exitCodeForError(e);
    const kind = code2 === ExitCode.usage ? "error" : "infrastructure error";
    io.err(`${kind}: ${e.message}
`);
    return code2;
  }
}

// src/cli.ts
process.exitCode = await cliMain(process.argv.slice(2), {
  out: (t) => process.stdout.write(t),
  err: (t) => process.stderr.write(t),
  cwd: process.cwd(),
  env: process.env
});
