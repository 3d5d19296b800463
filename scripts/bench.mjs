#!/usr/bin/env node
// Benchmark and flake check: runs a scenario (boot-smoke by default) N times through the
// committed CLI and prints how many passed, the phase timeline (median and spread) and the
// harness's own CPU time, read back from each run's JUnit properties. A failed run keeps
// its logs and the next run goes on. Usage: npm run bench -- [N] [--boot uboot|direct] [SCENARIO]
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
let runs = 1;
let boot = 'uboot';
let scenario = 'boot-smoke';
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--boot') boot = args[++i];
  else if (/^\d+$/.test(args[i])) runs = Number(args[i]);
  else scenario = args[i];
}

const samples = new Map();
const failures = [];
const add = (name, seconds) => samples.set(name, [...(samples.get(name) ?? []), seconds]);
for (let n = 1; n <= runs; n++) {
  const dir = mkdtempSync(join(tmpdir(), 'xpv-bench-'));
  const junit = join(dir, 'junit.xml');
  const t0 = Date.now();
  const r = spawnSync(process.execPath, [join(root, 'dist/cli.js'), 'run', scenario, '--boot', boot, '--ssh-port', '0', '--junit-path', junit, '--logs-dir', join(dir, 'logs')], {
    encoding: 'utf8',
  });
  const wall = (Date.now() - t0) / 1000;
  if (r.status !== 0) {
    const last = r.stderr.trim().split('\n').filter((l) => / FAIL | ERR /.test(l)).pop() ?? `exit ${r.status}`;
    console.error(`run ${n}/${runs}: FAILED after ${wall.toFixed(1)} s: ${last.trim()} (logs kept in ${dir})`);
    failures.push(dir);
    continue;
  }
  const xml = readFileSync(junit, 'utf8');
  for (const m of xml.matchAll(/<property name="(phase\.[^"]+|harness\.cpu\.[^"]+)" value="([\d.]+)s"\/>/g)) {
    const key = `${m[1]}`;
    // Every suite repeats the run's properties: take each once per run.
    if ((samples.get(key)?.length ?? 0) < n) add(key, Number(m[2]));
  }
  add('process wall', wall);
  console.error(`run ${n}/${runs}: ${wall.toFixed(1)} s`);
  rmSync(dir, { recursive: true, force: true });
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
console.log(`# ${scenario}, ${boot} path: ${runs - failures.length} of ${runs} runs passed (phases over the passing runs, seconds from process start; median [min–max])`);
const rows = [...samples.entries()].sort(([a, x], [b, y]) => (a.startsWith('phase.') && b.startsWith('phase.') ? median(x) - median(y) : a.localeCompare(b)));
for (const [name, xs] of rows) {
  const label = name.replace(/^phase\./, '').replace(/^harness\.cpu\./, 'harness CPU ');
  console.log(`${label.padEnd(22)} ${median(xs).toFixed(2).padStart(7)}  [${Math.min(...xs).toFixed(2)}–${Math.max(...xs).toFixed(2)}]`);
}
for (const dir of failures) console.log(`failed run kept in ${dir}`);
process.exitCode = failures.length > 0 ? 1 : 0;
