// Saved booted systems for real: the first run boots, settles and saves; the next run
// restores instead of booting; a damaged state falls back to booting; fresh-boot scenarios
// and --snapshot false get real boots. Each test keeps its saved states in its own cache.
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, truncateSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { resolvePlan } from '../../../src/config/plan.js';
import { planBootMedia } from '../../../src/image/media.js';
import { defaultCacheDir, findCachedRig } from '../../../src/rig/index.js';
import { bootedStateKey } from '../../../src/snapshot/index.js';
import { validateJunit } from '../../support/junit.js';
import { alive, isolatedCache, startCli } from '../../support/cli.js';

const property = (xml: string, name: string) => new RegExp(`<property name="${name.replace(/\./g, '\\.')}" value="([^"]*)"/>`).exec(xml)?.[1];
const statesIn = (cache: string) => (existsSync(join(cache, 'states')) ? readdirSync(join(cache, 'states')).filter((n) => !n.startsWith('.')) : []);

describe('saved booted systems', () => {
  it('the next run restores the saved system instead of booting, and passes the same way', { timeout: 10 * 60_000 }, async () => {
    const cache = isolatedCache();
    // A saved system of some earlier setup, unused for a month: over the budget, the run's end prunes it.
    const stale = join(cache, 'states', 'f'.repeat(64));
    mkdirSync(stale, { recursive: true });
    writeFileSync(join(stale, 'state.zst'), Buffer.alloc(2 * 1024 * 1024));
    const month = new Date(Date.now() - 30 * 86_400_000);
    utimesSync(stale, month, month);
    const first = startCli(['run', 'boot-smoke', '--cache-dir', cache, '--cache-max-size', '1M'], { snapshot: true });
    expect((await first.done).code, first.stderr()).toBe(0);
    const xml1 = readFileSync(first.junitPath, 'utf8');
    expect(property(xml1, 'snapshot.cache-hit')).toBe('false');
    expect(property(xml1, 'system')).toBe('booted');
    expect(xml1).toContain('<property name="phase.state saved"');
    const [key, ...others] = statesIn(cache);
    expect(others).toEqual([]);
    // The run kept what it used (its own saved system), over budget, and said so.
    expect(first.stderr()).toMatch(/cache: removed states\/f{64} \(saved booted system, 2\.0 MiB, last used /);
    expect(first.stderr()).toMatch(/warning: the cache holds .*, over its budget of 1\.0 MiB \(cache-max-size\), with only what this run used left/);
    expect(key).toBe(property(xml1, 'snapshot.key'));
    // What the cache holds: the state, the run's throwaway key, the boot disk, the boot's evidence and the entry.
    expect(readdirSync(join(cache, 'states', key!)).sort()).toEqual(['entry.json', 'evidence', 'id_ed25519', 'media-0-boot.img', 'state.zst']);
    // dom0's RAM and the key dom0 accepts are this user's alone (finding 5 of the hardening review).
    expect(statSync(join(cache, 'states', key!)).mode & 0o777).toBe(0o700);
    for (const name of ['id_ed25519', 'state.zst', 'media-0-boot.img']) expect(statSync(join(cache, 'states', key!, name)).mode & 0o777, name).toBe(0o600);

    const second = startCli(['run', 'boot-smoke', '--cache-dir', cache], { snapshot: true });
    expect((await second.done).code, second.stderr()).toBe(0);
    const xml2 = readFileSync(second.junitPath, 'utf8');
    validateJunit(xml2);
    expect(xml2).toMatch(/<testsuite name="boot-smoke" [^\n]* tests="6" failures="0" errors="0" skipped="0"/);
    expect(property(xml2, 'snapshot.cache-hit')).toBe('true');
    expect(property(xml2, 'system')).toBe('restored');
    // No boot happened: no banner, no u-boot; the domU still answered on its console.
    expect(xml2).toContain('<property name="phase.restored"');
    expect(xml2).not.toContain('<property name="phase.xen banner"');
    expect(xml2).toContain('domU1# uname -m\naarch64');
    expect(second.stderr()).toMatch(/booted system cache hit/);
    expect(alive(Number(readFileSync(join(second.logsDir, 'qemu.pid'), 'utf8')))).toBe(false);
    expect(readFileSync(join(second.logsDir, 'summary.md'), 'utf8')).toContain('(restored system)');

    // A failure on a restored system leaves what a failure on a booted one leaves: the repro
    // folder of the boot the system came from, and console logs that begin with that boot.
    const failing = join(cache, 'fails-restored.yaml');
    writeFileSync(
      failing,
      `name: fails-restored
domains:
  domU1: { vpl011: true }
steps:
  - wait: { console: domU1, for: shell, timeout: 5m }
  - console: { domain: domU1, run: echo no, expect: "^yes$", timeout: 20s }
`,
    );
    const fails = startCli(['run', failing, '--cache-dir', cache], { snapshot: true });
    expect((await fails.done).code, fails.stderr()).toBe(1);
    expect(property(readFileSync(fails.junitPath, 'utf8'), 'system')).toBe('restored');
    const listing = (dir: string) => readdirSync(dir).sort();
    expect(listing(join(fails.logsDir, 'repro'))).toEqual(listing(join(first.logsDir, 'repro')));
    for (const log of listing(first.logsDir).filter((n) => n.startsWith('console-'))) expect(listing(fails.logsDir), log).toContain(log);
    const dom0 = readFileSync(join(fails.logsDir, 'console-dom0.log'), 'utf8');
    const saved = dom0.indexOf('==== saved here (');
    expect(saved, dom0.slice(0, 2000)).toBeGreaterThan(0);
    expect(dom0.slice(0, saved)).toContain('xen-pvh-virtio: dom0 shell ready');
    const domU = readFileSync(join(fails.logsDir, 'console-domU1.log'), 'utf8');
    expect(domU.indexOf('==== saved here (')).toBeGreaterThan(0);
    expect(domU.slice(domU.indexOf('==== saved here ('))).toMatch(/^\+\s+[\d.]+s no$/m);
    expect(readFileSync(join(fails.logsDir, 'repro', 'README.txt'), 'utf8')).toContain('This run did not boot: it restored the booted system saved at');
    expect(readFileSync(join(fails.logsDir, 'repro', 'replay.sh'), 'utf8')).toBe(readFileSync(join(first.logsDir, 'repro', 'replay.sh'), 'utf8'));

    // A state that no longer loads is thrown away and the run boots instead, and says so.
    truncateSync(join(cache, 'states', key!, 'state.zst'), 4096);
    const third = startCli(['run', 'boot-smoke', '--cache-dir', cache], { snapshot: true });
    expect((await third.done).code, third.stderr()).toBe(0);
    const xml3 = readFileSync(third.junitPath, 'utf8');
    expect(property(xml3, 'system')).toBe('booted');
    expect(property(xml3, 'snapshot.unavailable')).toMatch(/^QEMU could not restore the saved booted system: /);
    expect(third.stderr()).toMatch(/falling back to one boot per scenario/);
    expect(statesIn(cache)).toEqual([]);
  });

  it('a fresh-boot scenario gets a real boot even when a saved system is at hand', { timeout: 10 * 60_000 }, async () => {
    const cache = isolatedCache();
    const file = join(cache, 'boots-again.yaml');
    writeFileSync(
      file,
      `name: boots-again
fresh-boot: true
domains:
  domU1: { vpl011: true }
steps:
  - wait: { console: xen, for: "Xen version 4", timeout: 5m }
  - wait: { console: domU1, for: shell, timeout: 5m }
`,
    );
    const run = startCli(['run', 'boot-smoke', file, '--cache-dir', cache], { snapshot: true });
    expect((await run.done).code, run.stderr()).toBe(0);
    const xml = readFileSync(run.junitPath, 'utf8');
    validateJunit(xml);
    // boot-smoke ran on the first boot; the fresh-boot scenario saw Xen's banner on a second one.
    expect(xml).toMatch(/<testsuite name="boots-again" [^\n]* failures="0" errors="0" skipped="0"/);
    expect(xml).toContain('<property name="phase.xen banner (2)"');
    expect(xml).not.toContain('<property name="phase.restore start');
  });

  it('--snapshot false saves nothing and boots every system', { timeout: 10 * 60_000 }, async () => {
    const cache = isolatedCache();
    const run = startCli(['run', 'boot-smoke', '--cache-dir', cache, '--snapshot', 'false']);
    expect((await run.done).code, run.stderr()).toBe(0);
    const xml = readFileSync(run.junitPath, 'utf8');
    expect(property(xml, 'system')).toBe('booted');
    expect(xml).not.toContain('snapshot.');
    expect(statesIn(cache)).toEqual([]);
  });

  it('keys a saved system by what shaped it, not by the run that saved it', async () => {
    const plan = resolvePlan({ values: { scenarios: 'boot-smoke' }, label: (n) => `--${n}` }, { cwd: process.cwd(), env: process.env });
    const found = await findCachedRig(plan.rig, { cacheDir: defaultCacheDir(), log: () => {} });
    expect(found, 'the global setup built the debian rig').toBeDefined();
    const key = (workDir: string, sshPort: number, domains = plan.domains, boot = plan.boot) =>
      bootedStateKey({ rig: found!.rig, rigKey: found!.key, boot, domains, media: planBootMedia({ rig: found!.rig, domains, boot, workDir, sshPort }) });
    const a = await key('/tmp/run-a', 2222);
    expect(await key('/var/tmp/other-run', 40123)).toBe(a);
    expect(await key('/tmp/run-a', 2222, plan.domains.map((d) => ({ ...d, memoryMiB: d.memoryMiB * 2 })))).not.toBe(a);
    expect(await key('/tmp/run-a', 2222, plan.domains, 'direct')).not.toBe(a);
  });
});
