// Every rig operation reaches its provider through the registry, and the registry, the
// `rig` input's choices and what each provider can do agree.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { OPTIONS } from '../../../src/config/options.js';
import { ConfigError } from '../../../src/errors.js';
import { checkRig, rigRecipe } from '../../../src/rig/index.js';
import { RIG_PROVIDERS } from '../../../src/rig/registry.js';

const cacheDir = mkdtempSync(join(tmpdir(), 'rig-providers-'));
afterAll(() => rmSync(cacheDir, { recursive: true, force: true }));
const log = () => undefined;

describe('the provider registry', () => {
  it('has a module for exactly the providers the rig input offers', () => {
    expect(Object.keys(RIG_PROVIDERS).sort()).toEqual([...OPTIONS.rig.choices].sort());
  });

  it("dispatches plan's recipe to the request's provider", () => {
    expect(rigRecipe({ provider: 'prebuilt', rigPath: '/srv/rig' }, cacheDir)).toMatchObject({ provider: 'prebuilt', rigPath: '/srv/rig' });
    expect(rigRecipe({ provider: 'source', xenRef: 'stable-4.20' }, cacheDir)).toMatchObject({ provider: 'source', xen: { ref: 'stable-4.20' } });
  });

  it('verifies a rig-path bundle with the prebuilt checks, whichever provider the request names', async () => {
    const missing = join(cacheDir, 'no-such-bundle');
    await expect(checkRig({ provider: 'debian', rigPath: missing }, { cacheDir, log })).rejects.toThrow(`rig-path: ${missing} does not exist`);
  });

  it('asks for --rig-path where a provider cannot check its cached rig', async () => {
    for (const provider of ['source', 'yocto'] as const) {
      const err = await checkRig({ provider }, { cacheDir, log }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ConfigError);
      expect((err as Error).message).toBe(`rig verify: give --rig-path for rig provider '${provider}'`);
    }
  });
});
