// Builds (or finds in the cache) the debian rig once before any test file runs: from nothing
// it fetches the pinned toolchain and compiles Xen and QEMU (about 3 minutes here), which no per-test deadline should cover.
import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';

export default function setup(): void {
  const root = resolve(__dirname, '..');
  const r = spawnSync(process.execPath, [resolve(root, 'dist/cli.js'), 'rig', 'build'], { cwd: root, stdio: ['ignore', 'ignore', 'inherit'], timeout: 60 * 60_000 });
  if (r.status !== 0) throw new Error(`xen-pvh-virtio rig build failed (exit ${r.status}${r.signal ? `, ${r.signal}` : ''}); its output is above`);
}
