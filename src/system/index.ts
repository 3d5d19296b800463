// system/: the systems a run's scenarios run on. system.ts is one system's life as a state
// machine (boot or restore → settled → saved → closed); pool.ts hands systems to scenarios;
// saved.ts is the policy for saved booted systems; drivers.ts is what a scenario gets.
export { bannerDeadlineMs, BANNER_DEADLINE_MS, System, type PendingSystem, type SystemContext, type SystemState } from './system.js';
export { batchesOf, Lane, SystemPool, type PoolHooks, type PoolInput } from './pool.js';
export { SavedSystems, SETTLE_DEADLINE_MS, type SaveClaim, type SavedSystemsHooks, type SavedSystemsInput } from './saved.js';
