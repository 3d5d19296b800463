#!/usr/bin/env node
// Soak: the same scenario N times, through the committed CLI, while busy loops keep every
// core of the host busy (the load under which typed input once arrived garbled).
//
//   npm run soak -- [N] [--hog K] [--out DIR] [SCENARIO] [-- CLI FLAGS...]
//     N runs (default 10) of SCENARIO (default: the seed scenario), with K busy loops
//     (default: one per core; 0 for none). Prints one line per run and then: passes, the
//     failure classes (exit code and the first failing step), how many typed lines the
//     console had to erase and type again, and the runs' wall times. Every failed run's
//     JUnit and logs stay in DIR (default: a new temp dir); passed runs' logs are removed.
//
// Exit status: 0 when every run passed, 1 otherwise.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const argv = process.argv.slice(2);
const dash = argv.indexOf('--');
const own = dash === -1 ? argv : argv.slice(0, dash);
const passThrough = dash === -1 ? [] : argv.slice(dash + 1);

let runs = 10;
let hogs = availableParallelism();
let out;
let scenario = 'virtio-pci-rescan-ping';
for (let i = 0; i < own.length; i++) {
  const a = own[i];
  const value = () => {
    const v = own[++i];
    if (v === undefined) usage(`${a} needs a value`);
    return v;
  };
  if (a === '--hog') hogs = count(value(), '--hog', 0);
  else if (a === '--out') out = value();
  else if (/^\d+$/.test(a)) runs = count(a, 'N', 1);
  else if (a.startsWith('-')) usage(`unknown flag ${a}`);
  else scenario = a;
}
out ??= mkdtempSync(join(tmpdir(), 'xpv-soak-'));
mkdirSync(out, { recursive: true });

function count(text, what, min) {
  const n = Number(text);
  if (!Number.isInteger(n) || n < min || n > 10_000) usage(`${what}: expected a whole number from ${min} to 10000, got ${JSON.stringify(text)}`);
  return n;
}

function usage(why) {
  process.stderr.write(`soak: ${why}\nusage: npm run soak -- [N] [--hog K] [--out DIR] [SCENARIO] [-- CLI FLAGS...]\n`);
  process.exit(2);
}

// Every process started here is stopped on every path: the hogs and the run in progress.
const children = new Set();
const stopAll = () => {
  for (const c of children) c.kill('SIGTERM');
};
process.on('exit', stopAll);
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    stopAll();
    process.exit(130);
  });
}

for (let i = 0; i < hogs; i++) {
  const hog = spawn(process.execPath, ['-e', 'for (;;) {}'], { stdio: 'ignore' });
  children.add(hog);
  hog.on('exit', () => children.delete(hog));
}

const results = [];
for (let n = 1; n <= runs; n++) {
  const dir = join(out, `run-${n}`);
  const junit = join(dir, 'junit.xml');
  const logs = join(dir, 'logs');
  const started = Date.now();
  const code = await new Promise((resolve) => {
    const child = spawn(process.execPath, [join(root, 'dist/cli.js'), 'run', scenario, '--junit-path', junit, '--logs-dir', logs, '--ssh-port', '0', ...passThrough], {
      cwd: root,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    children.add(child);
    let err = '';
    child.stderr.on('data', (c) => (err = (err + c.toString()).slice(-20_000)));
    child.on('exit', (c, signal) => {
      children.delete(child);
      mkdirSync(dir, { recursive: true });
      if (c !== 0) writeFileSync(join(dir, 'stderr.txt'), err);
      resolve(c ?? (signal ? 128 : 255));
    });
  });
  const seconds = (Date.now() - started) / 1000;
  const retyped = countRetypes(join(logs, 'console-all.log'));
  const why = code === 0 ? '' : firstProblem(junit);
  results.push({ n, code, seconds, retyped, why });
  process.stdout.write(`run ${n}/${runs}: ${code === 0 ? 'passed' : `exit ${code}`} in ${seconds.toFixed(1)} s, ${retyped} line(s) retyped${why ? ` — ${why}` : ''}\n`);
  if (code === 0) rmSync(dir, { recursive: true, force: true });
}
stopAll();

const passed = results.filter((r) => r.code === 0).length;
const classes = new Map();
for (const r of results.filter((x) => x.code !== 0)) {
  const key = `exit ${r.code}: ${r.why || '(no JUnit)'}`;
  classes.set(key, (classes.get(key) ?? 0) + 1);
}
const times = results.map((r) => r.seconds).sort((a, b) => a - b);
const retyped = results.reduce((sum, r) => sum + r.retyped, 0);
process.stdout.write(
  [
    '',
    `soak: ${passed} of ${runs} passed (${scenario}, ${hogs} busy loop${hogs === 1 ? '' : 's'} on ${availableParallelism()} cores)`,
    `typed lines retyped: ${retyped} in all, in ${results.filter((r) => r.retyped > 0).length} run(s)`,
    `wall time per run: min ${times[0].toFixed(1)} s, median ${times[Math.floor(times.length / 2)].toFixed(1)} s, max ${times[times.length - 1].toFixed(1)} s`,
    ...(classes.size > 0 ? ['failure classes:', ...[...classes].map(([k, v]) => `  ${v} × ${k}`), `logs of failed runs: ${out}`] : []),
    '',
  ].join('\n'),
);
process.exit(passed === runs ? 0 : 1);

function countRetypes(file) {
  if (!existsSync(file)) return 0;
  return (readFileSync(file, 'utf8').match(/\[xen-pvh-virtio\] typed line garbled/g) ?? []).length;
}

/** The first failing or erroring step of the JUnit, in one line. */
function firstProblem(file) {
  if (!existsSync(file)) return '';
  const xml = readFileSync(file, 'utf8');
  const m = /<testcase [^>]*name="([^"]*)"[^>]*>\s*<(failure|error) message="([^"]*)"/.exec(xml);
  if (!m) return '';
  const text = `${m[2]} in "${m[1]}": ${m[3]}`.replace(/&#xA;[\s\S]*$/, '').replace(/&quot;/g, '"').replace(/&amp;/g, '&').replace(/&lt;/g, '<').replace(/&gt;/g, '>');
  return text.length > 160 ? `${text.slice(0, 157)}...` : text;
}
