// The round trip that matters: the debian rig exported as a tarball, served over HTTP from
// loopback, loaded by --rig prebuilt into an empty cache, and booted through boot-smoke.
import { createReadStream, readFileSync } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { validateJunit } from '../../support/junit.js';
import { startCli } from '../../support/cli.js';

let scratch: string;
let server: Server;
let url: string;

beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'prebuilt-boot-'));
  const tarball = join(scratch, 'rig.tar.gz');
  const cli = startCli(['rig', 'export', tarball]);
  const { code } = await cli.done;
  if (code !== 0) throw new Error(`rig export exited ${code}:\n${cli.stderr()}`);
  server = createServer((req, res) => {
    if (req.url !== '/rig.tar.gz') return void res.writeHead(404).end();
    void stat(tarball).then((st) => {
      res.writeHead(200, { 'content-length': st.size });
      createReadStream(tarball).pipe(res);
    });
  });
  await new Promise<void>((res) => server.listen(0, '127.0.0.1', res));
  url = `http://127.0.0.1:${(server.address() as { port: number }).port}/rig.tar.gz`;
}, 300_000);

afterAll(async () => {
  server?.closeAllConnections();
  await new Promise((res) => server?.close(res));
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

describe('boot-smoke on a prebuilt rig downloaded over HTTP', () => {
  it('downloads, verifies and caches the bundle, then passes every step', { timeout: 10 * 60_000 }, async () => {
    const cacheDir = join(scratch, 'cache');
    const run = startCli(['run', 'boot-smoke', '--rig', 'prebuilt', '--rig-path', url, '--cache-dir', cacheDir]);
    const { code } = await run.done;
    expect(code, run.stderr()).toBe(0);
    expect(run.stderr()).toContain(`downloading ${url}`);
    expect(run.stderr()).toMatch(/caching prebuilt rig prebuilt-[0-9a-f]{64} from http/);
    const xml = readFileSync(run.junitPath, 'utf8');
    validateJunit(xml);
    expect(xml).toMatch(/<testsuite name="boot-smoke" [^\n]* tests="6" failures="0" errors="0" skipped="0"/);
    expect(xml).toContain('<property name="rig.request" value="prebuilt"/>');
    expect(xml).toContain('domU1# uname -m\naarch64');
  });
});
