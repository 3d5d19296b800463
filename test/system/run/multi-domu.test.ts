// Several domUs, as dom0less systems really run: the built-in two- and three-domU scenarios
// on a booted system, then on one restored from it, each domain with its own console log.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isolatedCache, startCli } from '../../support/cli.js';
import { validateJunit } from '../../support/junit.js';

const property = (xml: string, name: string) => new RegExp(`<property name="${name.replace(/\./g, '\\.')}" value="([^"]*)"`).exec(xml)?.[1];

describe.each([
  ['two-domus', 11, ['domU1', 'domU2']],
  ['boot-smoke-three-domus', 9, ['domU1', 'domU2', 'domU3']],
] as const)('%s', (scenario, steps, domUs) => {
  it('passes on a booted system and on one restored from it', { timeout: 15 * 60_000 }, async () => {
    const cache = isolatedCache();
    for (const system of ['booted', 'restored']) {
      const run = startCli(['run', scenario, '--cache-dir', cache], { snapshot: true });
      expect((await run.done).code, run.stderr()).toBe(0);
      const xml = readFileSync(run.junitPath, 'utf8');
      validateJunit(xml);
      expect(xml).toMatch(new RegExp(`<testsuite name="${scenario}" [^\\n]* tests="${steps}" failures="0" errors="0" skipped="0"`));
      expect(property(xml, 'system')).toBe(system);
      // Every domain's console has its own log, the boot's history first on a restored system.
      for (const d of ['dom0', ...domUs]) {
        const log = join(run.logsDir, `console-${d}.log`);
        expect(existsSync(log), log).toBe(true);
        expect(readFileSync(log, 'utf8')).toContain(d === 'dom0' ? 'xen-pvh-virtio: dom0 shell ready' : 'xen-pvh-virtio: domU shell ready');
      }
      expect(existsSync(join(run.logsDir, 'repro', 'replay.sh'))).toBe(true);
    }
  });
});
