// The rig providers by name: the one place a provider is registered. Its type is checked
// against the names config/ accepts (RigRequest['provider']) in both directions: a name
// without a module here, or a module under a name config/ does not know, does not compile.
import { debianProvider } from './debian/index.js';
import { prebuiltProvider } from './prebuilt/index.js';
import type { RigProviderModule, RigProviderName } from './provider.js';
import { sourceProvider } from './source/index.js';
import { yoctoProvider } from './yocto/index.js';

export const RIG_PROVIDERS = {
  debian: debianProvider,
  source: sourceProvider,
  prebuilt: prebuiltProvider,
  yocto: yoctoProvider,
} satisfies Record<RigProviderName, RigProviderModule>;

export function rigProvider(name: RigProviderName): RigProviderModule {
  return RIG_PROVIDERS[name];
}
