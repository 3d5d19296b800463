#!/usr/bin/env node
// Benchmark and flake check, through the committed CLI.
//
//   npm run bench -- [N] [--boot uboot|direct] [--only cold|restored] [SCENARIO]
//     runs SCENARIO (default: the seed scenario) N times booting cold (--snapshot false) and
//     N times restored from a cached booted system (after one run that saves it), and
//     prints per mode: passes, the phase timeline (median [min–max], seconds from process
//     start), the harness's own CPU, process wall time; then the ratio restored/cold.
//   npm run bench -- [N] --fanout [SCENARIO ...]
//     runs the scenarios together (default: the three that attach backends, so each needs a
//     fresh system) N times and prints what each scenario cost: the first from process
//     start, each later one from the end of the one before; and the ratio later/first.
//   npm run bench -- [N] --jobs [SCENARIO ...]
//     runs the scenarios (default: the four built-in ones) with --jobs 1 and --jobs 2, N times
//     each, alternating, every run restoring the same cached booted system (one priming run
//     saves it first); prints both wall times and the ratio jobs 2 / jobs 1.
//   npm run bench -- --published [SCENARIO]
//     a first run on a machine with an empty cache, twice: once building everything (pinned
//     toolchain, Xen, QEMU, rig) and once fetching the rig a release published
//     (scripts/publish-rigs, served from 127.0.0.1 as rig-mirror); prints both wall times
//     and their ratio.
//
// Failed runs are counted and their logs kept; the next run goes on.
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { availableParallelism, homedir, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
let runs = 1;
let boot = 'uboot';
let only;
let fanout = false;
let published = false;
let jobs = false;
const scenarios = [];
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--boot') boot = args[++i];
  else if (args[i] === '--only') only = args[++i];
  else if (args[i] === '--fanout') fanout = true;
  else if (args[i] === '--published') published = true;
  else if (args[i] === '--jobs') jobs = true;
  else if (/^\d+$/.test(args[i])) runs = Number(args[i]);
  else scenarios.push(args[i]);
}
if (scenarios.length === 0) {
  if (jobs) scenarios.push('boot-smoke', 'virtio-pci-rescan-ping', 'virtio-blk', 'backend-restart');
  else scenarios.push(...(fanout ? ['virtio-pci-rescan-ping', 'virtio-blk', 'backend-restart'] : ['virtio-pci-rescan-ping']));
}

/** A static file server on 127.0.0.1 (a free port, printed first), laid out like release assets. */
const SERVE = `
const { createServer } = require('node:http');
const { createReadStream, existsSync } = require('node:fs');
const { join } = require('node:path');
const dir = process.argv[1];
const s = createServer((req, res) => {
  const name = decodeURIComponent(new URL(req.url, 'http://x').pathname).slice(1);
  const file = join(dir, name);
  if (name.includes('/') || !existsSync(file)) return res.writeHead(404).end();
  res.writeHead(200);
  createReadStream(file).pipe(res);
});
s.listen(0, '127.0.0.1', () => console.log(s.address().port));
`;

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const fmt = (xs) => `${median(xs).toFixed(2).padStart(7)}  [${Math.min(...xs).toFixed(2)}–${Math.max(...xs).toFixed(2)}]`;

/** The outer QEMU's version: the figures depend on it. */
const OUTER_QEMU = spawnSync('qemu-system-aarch64', ['--version'], { encoding: 'utf8' }).stdout?.split('\n')[0] ?? 'QEMU version unknown';

/** A cache dir sharing the real one's rigs and lists but with saved booted systems of its own. */
function benchCache() {
  const real = process.env.XEN_PVH_VIRTIO_CACHE || join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'xen-pvh-virtio');
  const dir = mkdtempSync(join(tmpdir(), 'xpv-bench-cache-'));
  mkdirSync(real, { recursive: true });
  for (const name of readdirSync(real)) if (name !== 'states') symlinkSync(join(real, name), join(dir, name));
  return dir;
}

/** One CLI run; its JUnit properties (first suite's), per-suite durations and wall time, or a failure. */
function runOnce(extra) {
  const dir = mkdtempSync(join(tmpdir(), 'xpv-bench-'));
  const junit = join(dir, 'junit.xml');
  const t0 = Date.now();
  const r = spawnSync(process.execPath, [join(root, 'dist/cli.js'), 'run', ...scenarios, '--boot', boot, '--ssh-port', '0', '--junit-path', junit, '--logs-dir', join(dir, 'logs'), ...extra], {
    encoding: 'utf8',
  });
  const wall = (Date.now() - t0) / 1000;
  if (r.status !== 0) {
    const last = r.stderr.trim().split('\n').filter((l) => / FAIL | ERR |error/.test(l)).pop() ?? `exit ${r.status}`;
    return { ok: false, wall, dir, why: last.trim() };
  }
  const xml = readFileSync(junit, 'utf8');
  const firstSuite = xml.slice(xml.indexOf('<testsuite '), xml.indexOf('</testsuite>'));
  const props = new Map([...firstSuite.matchAll(/<property name="([^"]+)" value="([^"]*)"\/>/g)].map((m) => [m[1], m[2]]));
  const systems = [...xml.matchAll(/<property name="system" value="(\w+)"\/>/g)].map((m) => m[1]);
  // Each step's own time (the JUnit test cases): what the guest needed plus what we typed and waited for.
  const steps = [...xml.matchAll(/<testcase classname="xen-pvh-virtio\.([^"]+)" name="([^"]+)" time="([\d.]+)"/g)].map((m) => [`${m[1]}: ${m[2]}`, Number(m[3])]);
  rmSync(dir, { recursive: true, force: true });
  return { ok: true, wall, props, systems, steps };
}

function collect(mode, extra, n, before = () => undefined) {
  const samples = new Map();
  const failures = [];
  const add = (name, v) => samples.set(name, [...(samples.get(name) ?? []), v]);
  for (let i = 1; i <= n; i++) {
    before();
    const r = runOnce(extra);
    if (!r.ok) {
      console.error(`${mode} ${i}/${n}: FAILED after ${r.wall.toFixed(1)} s: ${r.why} (logs kept in ${r.dir})`);
      failures.push(r.dir);
      continue;
    }
    console.error(`${mode} ${i}/${n}: ${r.wall.toFixed(1)} s (systems: ${r.systems.join(', ')})`);
    for (const [k, v] of r.props) {
      if (k.startsWith('phase.') || k.startsWith('harness.cpu.')) add(k, Number(v.replace(/s$/, '')));
    }
    add('process wall', r.wall);
    for (const [name, seconds] of r.steps) add(`step ${name}`, seconds);
    if (fanout) {
      // Each scenario's cost: the first from process start, later ones from the previous end.
      const spans = [...r.props].filter(([k]) => k.startsWith('span.scenarios.')).map(([k, v]) => [k.slice('span.scenarios.'.length), v.split('..').map((x) => Number(x.replace(/s$/, '')))]);
      let prevEnd = 0;
      for (const [name, [start, end]] of spans) {
        add(`cost ${name}`, end - prevEnd);
        add(`switch before ${name}`, start - prevEnd);
        prevEnd = end;
      }
    }
  }
  return { samples, failures, n };
}

function print(title, { samples, failures, n }) {
  console.log(`\n# ${title}: ${n - failures.length} of ${n} runs passed (seconds; median [min–max])`);
  // Phases in time order, then each step in scenario order (its own time), then the rest.
  const kind = (k) => (k.startsWith('phase.') ? 0 : k.startsWith('step ') ? 1 : 2);
  const rows = [...samples.entries()].sort(([a, x], [b, y]) => kind(a) - kind(b) || (kind(a) === 0 ? median(x) - median(y) : kind(a) === 1 ? 0 : a.localeCompare(b)));
  console.log(`outer ${OUTER_QEMU}`);
  for (const [name, xs] of rows) console.log(`${name.replace(/^phase\./, '').replace(/^harness\.cpu\./, 'harness CPU ').slice(0, 60).padEnd(60)} ${fmt(xs)}`);
  for (const dir of failures) console.log(`failed run kept in ${dir}`);
}

const label = `${scenarios.join(' + ')}, ${boot} path`;
let failed = 0;
if (published) {
  const release = mkdtempSync(join(tmpdir(), 'xpv-bench-release-'));
  const pub = spawnSync(join(root, 'scripts/publish-rigs'), [release, 'debian'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  if (pub.status !== 0) throw new Error(`scripts/publish-rigs failed (exit ${pub.status})`);
  const server = spawn(process.execPath, ['-e', SERVE, release], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise((done) => server.stdout.once('data', (d) => done(Number(String(d).trim()))));
  const results = {};
  for (const [mode, extra] of [['builds', ['--rig-download', 'false']], ['published', ['--rig-mirror', `http://127.0.0.1:${port}/`]]]) {
    // A cache with nothing in it: not the toolchain, not the lists, not a component.
    const cache = mkdtempSync(join(tmpdir(), 'xpv-bench-empty-'));
    const r = runOnce(['--cache-dir', cache, '--snapshot', 'false', ...extra]);
    console.error(`first run that ${mode}: ${r.ok ? `${r.wall.toFixed(1)} s` : `FAILED: ${r.why}`}`);
    if (r.ok) results[mode] = r.wall;
    else failed++;
    rmSync(cache, { recursive: true, force: true });
  }
  server.kill();
  rmSync(release, { recursive: true, force: true });
  console.log(`\n# first run, empty cache: ${label}`);
  for (const [mode, wall] of Object.entries(results)) console.log(`${mode.padEnd(10)} ${wall.toFixed(1)} s`);
  if (results.builds && results.published) console.log(`published / builds: ${(results.published / results.builds).toFixed(3)}`);
} else if (jobs) {
  const cache = benchCache();
  const prime = runOnce(['--cache-dir', cache, '--jobs', '1']);
  console.error(`priming run (boots and saves the booted system): ${prime.ok ? `${prime.wall.toFixed(1)} s` : `FAILED: ${prime.why}`}`);
  const walls = { 1: [], 2: [] };
  for (let i = 1; i <= runs; i++) {
    // Alternating, so that a machine getting busier or quieter weighs on both alike.
    for (const n of i % 2 ? [1, 2] : [2, 1]) {
      const r = runOnce(['--cache-dir', cache, '--jobs', String(n)]);
      console.error(`jobs ${n}, run ${i}/${runs}: ${r.ok ? `${r.wall.toFixed(1)} s (systems: ${r.systems.join(', ')})` : `FAILED: ${r.why} (logs kept in ${r.dir})`}`);
      if (r.ok) walls[n].push(r.wall);
      else failed++;
    }
  }
  console.log(`\n# ${label}, restored from a cached booted system; ${availableParallelism()} cores; outer ${OUTER_QEMU}`);
  for (const n of [1, 2]) if (walls[n].length) console.log(`jobs ${n}: process wall ${fmt(walls[n])} s`);
  if (walls[1].length && walls[2].length) console.log(`jobs 2 / jobs 1: ${(median(walls[2]) / median(walls[1])).toFixed(3)}`);
  rmSync(cache, { recursive: true, force: true });
} else if (fanout) {
  const cache = benchCache();
  // No state from an earlier run: each run boots its first system and restores the later ones.
  const r = collect('fanout', ['--cache-dir', cache], runs, () => rmSync(join(cache, 'states'), { recursive: true, force: true }));
  print(`fan-out: ${label}`, r);
  const costs = [...r.samples].filter(([k]) => k.startsWith('cost '));
  if (costs.length > 1) {
    const first = median(costs[0][1]);
    for (const [k, xs] of costs.slice(1)) console.log(`${k} / first: ${(median(xs) / first).toFixed(3)}`);
  }
  for (const [k, xs] of [...r.samples].filter(([k]) => k.startsWith('switch before ')).slice(1)) console.log(`${k} / first cost: ${(median(xs) / median(costs[0][1])).toFixed(3)}`);
  failed += r.failures.length;
  rmSync(cache, { recursive: true, force: true });
} else {
  let cold;
  let restored;
  if (only !== 'restored') {
    cold = collect('cold', ['--snapshot', 'false'], runs);
    print(`cold boot: ${label}`, cold);
    failed += cold.failures.length;
  }
  if (only !== 'cold') {
    const cache = benchCache();
    const prime = runOnce(['--cache-dir', cache]);
    console.error(`priming run (boots and saves the booted system): ${prime.ok ? `${prime.wall.toFixed(1)} s` : `FAILED: ${prime.why}`}`);
    restored = collect('restored', ['--cache-dir', cache], runs);
    print(`restored from a cached booted system: ${label}`, restored);
    failed += restored.failures.length;
    rmSync(cache, { recursive: true, force: true });
  }
  if (cold && restored) {
    console.log('\n# restored / cold (medians)');
    for (const name of ['process wall', 'phase.scenarios end']) {
      const c = cold.samples.get(name);
      const r = restored.samples.get(name);
      if (c && r) console.log(`${name.replace(/^phase\./, '').padEnd(22)} ${(median(r) / median(c)).toFixed(3)}  (${median(r).toFixed(2)} s / ${median(c).toFixed(2)} s)`);
    }
  }
}
process.exitCode = failed > 0 ? 1 : 0;
