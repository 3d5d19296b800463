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
//   npm run bench -- [N] [--jobs] --before <git-ref | folder> [SCENARIO ...]
//     the same, with an older build run alternately beside this one (dist/cli.js) in the same
//     invocation: <folder> holds cli.js (a dist/) or dist/cli.js; anything else is a commit,
//     checked out with `git worktree add` (its committed dist/) and removed afterwards. Each
//     build has its own cache of saved booted systems; both print their tables, then one table
//     of the two side by side with the ratio after/before.
//   npm run bench -- --published [SCENARIO]
//     a first run on a machine with an empty cache, twice: once building everything (pinned
//     toolchain, Xen, QEMU, rig) and once fetching the rig a release published
//     (scripts/publish-rigs, served from 127.0.0.1 as rig-mirror); prints both wall times
//     and their ratio.
//
// Every mode but --published also prints a profile per step (median over the runs, from each
// run's result.json): its total, the guest's own time, typing, focus switches, the console's
// turn, the SSH link and channel, the exit status, and overhead = total − guest; and per
// phase, when it came and how long after the phase before it.
//
// Failed runs are counted and their logs kept; the next run goes on.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { availableParallelism, homedir, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
let runs = 1;
let boot = 'uboot';
let only;
let fanout = false;
let published = false;
let jobs = false;
let beforeRef;
const scenarios = [];
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--boot') boot = args[++i];
  else if (args[i] === '--only') only = args[++i];
  else if (args[i] === '--fanout') fanout = true;
  else if (args[i] === '--published') published = true;
  else if (args[i] === '--jobs') jobs = true;
  else if (args[i] === '--before') beforeRef = args[++i];
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

/** This build, and the older one --before names (undefined without it). */
const CURRENT = join(root, 'dist/cli.js');
if (beforeRef !== undefined && (fanout || published)) throw new Error('--before goes with the cold and restored runs and with --jobs, not with --fanout or --published');
const before = beforeRef === undefined ? undefined : olderBuild(beforeRef);
// The worktree goes however the bench ends.
process.on('exit', () => before?.dispose());
/** The builds each measurement runs, in the order of the first run. */
const SIDES = [...(before ? [{ name: 'before', cli: before.cli }] : []), { name: 'after', cli: CURRENT }];

/** The older build's cli.js: in a folder as given, else from a worktree of the commit (removed at exit). */
function olderBuild(ref) {
  for (const cli of [join(ref, 'cli.js'), join(ref, 'dist', 'cli.js')]) if (existsSync(cli)) return { cli: resolve(cli), dispose: () => {} };
  const dir = mkdtempSync(join(tmpdir(), 'xpv-bench-before-'));
  const add = spawnSync('git', ['-C', root, 'worktree', 'add', '--detach', dir, ref], { encoding: 'utf8' });
  if (add.status !== 0) throw new Error(`--before ${ref}: not a folder with cli.js or dist/cli.js, and git cannot check it out: ${add.stderr.trim()}`);
  if (!existsSync(join(dir, 'dist', 'cli.js'))) throw new Error(`--before ${ref}: the commit has no dist/cli.js`);
  console.error(`before: ${ref} checked out in ${dir}`);
  return { cli: join(dir, 'dist', 'cli.js'), dispose: () => spawnSync('git', ['-C', root, 'worktree', 'remove', '--force', dir], { stdio: 'inherit' }) };
}

/** Each step's time and profile, and the phases, from a run's result.json; nothing when it has none. */
function readProfile(logs) {
  let result;
  try {
    result = JSON.parse(readFileSync(join(logs, 'result.json'), 'utf8')).result;
  } catch {
    return { steps: [], phases: [] };
  }
  const steps = result.scenarios.flatMap((s) => [
    ...s.steps.filter((st) => !st.notRun).map((st) => ({ name: `${s.name}: ${st.title}`, durationMs: st.durationMs, profile: st.profile ?? {} })),
    // What the scenario spent between and after its steps: cleanup (stopping its backends), forensics.
    { name: `${s.name}: (outside its steps)`, durationMs: s.durationMs - s.steps.reduce((sum, st) => sum + st.durationMs, 0), profile: {} },
  ]);
  return { steps, phases: [...result.phases].sort((a, b) => a.atMs - b.atMs) };
}

/** One CLI run; its JUnit properties (first suite's), per-suite durations and wall time, or a failure. */
function runOnce(extra, cli = CURRENT) {
  const dir = mkdtempSync(join(tmpdir(), 'xpv-bench-'));
  const junit = join(dir, 'junit.xml');
  const t0 = Date.now();
  const r = spawnSync(process.execPath, [cli, 'run', ...scenarios, '--boot', boot, '--ssh-port', '0', '--junit-path', junit, '--logs-dir', join(dir, 'logs'), ...extra], {
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
  const profile = readProfile(join(dir, 'logs'));
  rmSync(dir, { recursive: true, force: true });
  return { ok: true, wall, props, systems, steps, profile };
}

/** The profile columns: a step's profile fields, as the table heads them. */
const COLUMNS = [
  ['total', (st) => st.durationMs],
  ['guest', (st) => st.profile.guestMs],
  ['overhead', (st) => (st.profile.guestMs === undefined ? undefined : st.durationMs - st.profile.guestMs)],
  ['typing', (st) => st.profile.typingMs],
  ['bytes', (st) => st.profile.typedBytes],
  ['echoes', (st) => st.profile.echoWaits],
  ['focus', (st) => st.profile.focusMs],
  ['switches', (st) => st.profile.focusSwitches],
  ['turn', (st) => st.profile.turnMs],
  ['connect', (st) => st.profile.connectMs],
  ['channel', (st) => st.profile.openMs],
  ['exit st.', (st) => st.profile.exitStatusMs],
  ['trips', (st) => st.profile.roundTrips],
];

/** A run's steps and phases into the accumulated profile (values per step and column, per phase). */
function addProfile(acc, { steps, phases }) {
  for (const st of steps) {
    const row = acc.steps.get(st.name) ?? new Map();
    acc.steps.set(st.name, row);
    for (const [col, of] of COLUMNS) {
      const v = of(st);
      if (v !== undefined) row.set(col, [...(row.get(col) ?? []), v]);
    }
  }
  phases.forEach((p, i) => {
    const row = acc.phases.get(p.name) ?? { at: [], since: [] };
    acc.phases.set(p.name, row);
    row.at.push(p.atMs);
    row.since.push(p.atMs - (i > 0 ? phases[i - 1].atMs : 0));
  });
}

const cell = (xs, width = 9) => (xs && xs.length ? String(Math.round(median(xs))) : '–').padStart(width);

function printProfile(title, acc) {
  if (acc.steps.size === 0) return;
  console.log(`\n# profile: ${title} (milliseconds and counts; median of the runs; – where it does not apply or the build does not record it)`);
  console.log(`${'step'.padEnd(60)}${COLUMNS.map(([c]) => c.padStart(9)).join('')}`);
  for (const [name, row] of acc.steps) console.log(`${name.slice(0, 59).padEnd(60)}${COLUMNS.map(([c]) => cell(row.get(c))).join('')}`);
  console.log(`${'phase'.padEnd(60)}${'at'.padStart(9)}${'after previous'.padStart(16)}`);
  const phases = [...acc.phases].sort(([, a], [, b]) => median(a.at) - median(b.at));
  for (const [name, row] of phases) console.log(`${name.slice(0, 59).padEnd(60)}${cell(row.at)}${cell(row.since, 16)}`);
}

/**
 * N runs of each side (this build, and the older one with --before) with the options
 * `extraOf(side)` gives, alternating which side goes first so that a machine getting busier or
 * quieter weighs on both alike; per side (by name) its samples, failures and profile.
 */
function collect(mode, extraOf, n, beforeEachRun = () => undefined, sides = SIDES) {
  const bySide = new Map(sides.map((side) => [side.name, { samples: new Map(), failures: [], n, profile: { steps: new Map(), phases: new Map() } }]));
  for (let i = 1; i <= n; i++) {
    for (const side of i % 2 ? sides : [...sides].reverse()) {
      const { samples, failures, profile } = bySide.get(side.name);
      const who = sides.length > 1 ? `${mode} (${side.name})` : mode;
      const add = (name, v) => samples.set(name, [...(samples.get(name) ?? []), v]);
      beforeEachRun(side);
      const r = runOnce(extraOf(side), side.cli);
      if (!r.ok) {
        console.error(`${who} ${i}/${n}: FAILED after ${r.wall.toFixed(1)} s: ${r.why} (logs kept in ${r.dir})`);
        failures.push(r.dir);
        continue;
      }
      console.error(`${who} ${i}/${n}: ${r.wall.toFixed(1)} s (systems: ${r.systems.join(', ')})`);
      addRun(add, r);
      addProfile(profile, r.profile);
    }
  }
  return bySide;
}

/** One passed run's figures into a side's samples. */
function addRun(add, r) {
  for (const [k, v] of r.props) {
    if (k.startsWith('phase.') || k.startsWith('harness.cpu.')) add(k, Number(v.replace(/s$/, '')));
  }
  add('process wall', r.wall);
  for (const [name, seconds] of r.steps) add(`step ${name}`, seconds);
  // From QEMU's start (or the restore's) to settled. A build that records settled only when it
  // saves the booted system has the moment all the same: when the last shell showed.
  const at = (name) => r.profile.phases.find((p) => p.name === name)?.atMs;
  const shells = r.profile.phases.filter((p) => / shell$/.test(p.name)).map((p) => p.atMs);
  const settled = at('settled') ?? (shells.length > 0 ? Math.max(...shells) : undefined);
  for (const [from, label] of [['qemu start', 'boot to settled'], ['restore start', 'restore to settled']]) {
    if (settled !== undefined && at(from) !== undefined) add(label, (settled - at(from)) / 1000);
  }
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

function print(title, { samples, failures, n }) {
  console.log(`\n# ${title}: ${n - failures.length} of ${n} runs passed (seconds; median [min–max])`);
  // Phases in time order, then each step in scenario order (its own time), then the rest.
  const kind = (k) => (k.startsWith('phase.') ? 0 : k.startsWith('step ') ? 1 : 2);
  const rows = [...samples.entries()].sort(([a, x], [b, y]) => kind(a) - kind(b) || (kind(a) === 0 ? median(x) - median(y) : kind(a) === 1 ? 0 : a.localeCompare(b)));
  console.log(`outer ${OUTER_QEMU}`);
  for (const [name, xs] of rows) console.log(`${name.replace(/^phase\./, '').replace(/^harness\.cpu\./, 'harness CPU ').slice(0, 60).padEnd(60)} ${fmt(xs)}`);
  for (const dir of failures) console.log(`failed run kept in ${dir}`);
}

/** Each side's figures and profile; with --before, then the two side by side. */
function printSides(title, bySide) {
  for (const [side, r] of bySide) {
    const t = bySide.size > 1 ? `${title} (${side})` : title;
    print(t, r);
    printProfile(t, r.profile);
  }
  const b = bySide.get('before');
  const a = bySide.get('after');
  if (!b || !a) return;
  console.log(`\n# before / after: ${title} (medians; after/before)`);
  const row = (name, x, y, unit) =>
    console.log(`${name.slice(0, 59).padEnd(60)}${`${median(x).toFixed(unit === 's' ? 2 : 0)} ${unit}`.padStart(12)}${`${median(y).toFixed(unit === 's' ? 2 : 0)} ${unit}`.padStart(12)}${(median(y) / median(x)).toFixed(3).padStart(9)}`);
  console.log(`${''.padEnd(60)}${'before'.padStart(12)}${'after'.padStart(12)}${'ratio'.padStart(9)}`);
  for (const [name, ys] of a.samples) {
    const xs = b.samples.get(name);
    if (xs) row(name.replace(/^phase\./, '').replace(/^harness\.cpu\./, 'harness CPU '), xs, ys, 's');
  }
  for (const [name, cols] of a.profile.steps) {
    const old = b.profile.steps.get(name);
    for (const col of ['guest', 'overhead']) {
      if (old?.get(col) && cols.get(col)) row(`${name.slice(0, 48)} ${col}`, old.get(col), cols.get(col), 'ms');
    }
  }
}

const label = `${scenarios.join(' + ')}, ${boot} path`;
const of = (side) => (SIDES.length > 1 ? `${side.name}: ` : '');

/** A bench cache per build, each primed by a run that boots and saves the booted system. */
function primedCaches(extra) {
  const caches = new Map(SIDES.map((side) => [side.name, benchCache()]));
  for (const side of SIDES) {
    const prime = runOnce(['--cache-dir', caches.get(side.name), ...extra], side.cli);
    console.error(`${of(side)}priming run (boots and saves the booted system): ${prime.ok ? `${prime.wall.toFixed(1)} s` : `FAILED: ${prime.why}`}`);
  }
  return caches;
}
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
  const caches = primedCaches(['--jobs', '1']);
  // Each build with --jobs 1 and --jobs 2, all alternating (collect turns the order round each time).
  const lanes = SIDES.flatMap((side) => [1, 2].map((n) => ({ ...side, name: `${SIDES.length > 1 ? `${side.name}, ` : ''}jobs ${n}`, side: side.name, n })));
  const r = collect('run', (lane) => ['--cache-dir', caches.get(lane.side), '--jobs', String(lane.n)], runs, undefined, lanes);
  const walls = (side, n) => r.get(lanes.find((l) => l.side === side && l.n === n).name).samples.get('process wall');
  console.log(`\n# ${label}, restored from a cached booted system; ${availableParallelism()} cores; outer ${OUTER_QEMU}`);
  for (const lane of lanes) {
    const w = walls(lane.side, lane.n);
    if (w) console.log(`${lane.name}: process wall ${fmt(w)} s`);
    failed += r.get(lane.name).failures.length;
  }
  for (const side of SIDES) {
    if (walls(side.name, 1) && walls(side.name, 2)) console.log(`${of(side)}jobs 2 / jobs 1: ${(median(walls(side.name, 2)) / median(walls(side.name, 1))).toFixed(3)}`);
  }
  for (const n of [1, 2]) {
    if (before && walls('before', n) && walls('after', n)) console.log(`jobs ${n}, after / before: ${(median(walls('after', n)) / median(walls('before', n))).toFixed(3)}`);
  }
  for (const lane of lanes) printProfile(`${label}, ${lane.name}`, r.get(lane.name).profile);
  for (const cache of caches.values()) rmSync(cache, { recursive: true, force: true });
} else if (fanout) {
  const cache = benchCache();
  // No state from an earlier run: each run boots its first system and restores the later ones.
  const r = collect('fanout', () => ['--cache-dir', cache], runs, () => rmSync(join(cache, 'states'), { recursive: true, force: true })).get('after');
  print(`fan-out: ${label}`, r);
  printProfile(`fan-out: ${label}`, r.profile);
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
    cold = collect('cold', () => ['--snapshot', 'false'], runs);
    printSides(`cold boot: ${label}`, cold);
    for (const r of cold.values()) failed += r.failures.length;
  }
  if (only !== 'cold') {
    const caches = primedCaches([]);
    restored = collect('restored', (side) => ['--cache-dir', caches.get(side.name)], runs);
    printSides(`restored from a cached booted system: ${label}`, restored);
    for (const r of restored.values()) failed += r.failures.length;
    for (const cache of caches.values()) rmSync(cache, { recursive: true, force: true });
  }
  for (const side of SIDES) {
    const c = cold?.get(side.name);
    const r = restored?.get(side.name);
    if (!c || !r) continue;
    console.log(`\n# restored / cold (medians)${SIDES.length > 1 ? `, ${side.name}` : ''}`);
    for (const name of ['process wall', 'phase.scenarios end']) {
      const cs = c.samples.get(name);
      const rs = r.samples.get(name);
      if (cs && rs) console.log(`${name.replace(/^phase\./, '').padEnd(22)} ${(median(rs) / median(cs)).toFixed(3)}  (${median(rs).toFixed(2)} s / ${median(cs).toFixed(2)} s)`);
    }
  }
  // The issue's figures for this scenario (the third, every built-in scenario warm, is --jobs's).
  const figure = (runsOf, name) => SIDES.map((side) => runsOf?.get(side.name)?.samples.get(name)).map((xs) => (xs ? `${median(xs).toFixed(2)} s` : '–').padStart(12)).join('');
  console.log(`\n# figures: ${label} (medians; outer ${OUTER_QEMU})`);
  console.log(`${''.padEnd(40)}${SIDES.map((side) => side.name.padStart(12)).join('')}`);
  console.log(`${'warm run, process wall (≤ 15 s)'.padEnd(40)}${figure(restored, 'process wall')}`);
  console.log(`${'cold boot to settled (≤ 10 s)'.padEnd(40)}${figure(cold, 'boot to settled')}`);
  console.log(`${'restore to settled'.padEnd(40)}${figure(restored, 'restore to settled')}`);
}
process.exitCode = failed > 0 ? 1 : 0;
