// What each step's run is told: bisect turns on incremental builds (neighbouring commits rebuild
// only what they change) unless the user said otherwise, for a kernel on any rig too.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readBisectRequest } from '../../../src/bisect/request.js';
import { parseCommandLine } from '../../../src/cli/args.js';
import { BISECT_FLAGS } from '../../../src/bisect/index.js';

const cwd = mkdtempSync(join(tmpdir(), 'bisect-request-'));

function request(argv: string[]) {
  const p = parseCommandLine(argv, BISECT_FLAGS);
  return readBisectRequest(p.words, p.raw, p.own, { cwd, env: { XEN_PVH_VIRTIO_CACHE: join(cwd, 'cache') } });
}

describe('bisect request', () => {
  it('has every Xen step build incrementally, in the cache the clone lives in', () => {
    const r = request(['xen', 'boot-smoke', '--good', 'a', '--bad', 'b']);
    expect(r.runOptions).toMatchObject({ rig: 'source', 'incremental-builds': 'true', 'cache-dir': join(cwd, 'cache') });
  });

  it("keeps the user's own choice", () => {
    expect(request(['xen', 'boot-smoke', '--good', 'a', '--bad', 'b', '--incremental-builds', 'false']).runOptions['incremental-builds']).toBe('false');
  });

  it('has a Linux bisection build its kernel incrementally on the rig it names', () => {
    const r = request(['linux', 'boot-smoke', '--good', 'a', '--bad', 'b', '--rig', 'debian']);
    expect(r.runOptions).toMatchObject({ rig: 'debian', 'incremental-builds': 'true' });
  });
});
