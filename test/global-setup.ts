// The system lane's setup. It bundles src/ into dist/ first: the system tests run the CLI
// the way users do, from the bundle, and a stale bundle would test yesterday's code (CI
// checks separately that the committed dist/ is what the sources bundle to). Then it builds
// (or finds in the cache) the debian rig once before any test file runs: from nothing it
// fetches the pinned toolchain and compiles Xen and QEMU (about 3 minutes here), which no
// per-test deadline should cover.
import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';

function step(root: string, what: string, args: string[], timeoutMs: number): void {
  const r = spawnSync(process.execPath, args, { cwd: root, stdio: ['ignore', 'ignore', 'inherit'], timeout: timeoutMs });
  if (r.status !== 0) throw new Error(`${what} failed (exit ${r.status}${r.signal ? `, ${r.signal}` : ''}); its output is above`);
}

export default function setup(): void {
  const root = resolve(__dirname, '..');
  step(root, 'bundling src/ into dist/', [resolve(root, 'scripts/bundle.mjs')], 5 * 60_000);
  step(root, 'xen-pvh-virtio rig build', [resolve(root, 'dist/cli.js'), 'rig', 'build'], 60 * 60_000);
}
