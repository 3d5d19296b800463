// Every test run gets one temporary folder of its own, and leaves nothing behind in /tmp.
// Tests make hundreds of folders (run logs with copies of the boot media, caches, fake
// repositories), many of them hundreds of MB, and a test that fails or a worker that is torn
// down never reaches its own cleanup: the folder they all live in is removed at the end
// instead. TMPDIR is inherited by the test workers and by the CLIs they start.
// XEN_PVH_VIRTIO_KEEP_TEST_TMP=1 keeps it, for looking at a failure's files.
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export default function setup(): () => void {
  const dir = mkdtempSync(join(tmpdir(), 'xpv-tests-'));
  // Reachable by others, as /tmp is: the SSH tests log in as a throwaway user whose home is in here.
  chmodSync(dir, 0o755);
  const before = process.env.TMPDIR;
  process.env.TMPDIR = dir;
  return () => {
    if (before === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = before;
    if (process.env.XEN_PVH_VIRTIO_KEEP_TEST_TMP) process.stderr.write(`test files kept in ${dir}\n`);
    else rmSync(dir, { recursive: true, force: true });
  };
}
