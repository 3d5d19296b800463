// snapshot/: one boot serves many scenarios. migrate.ts moves a machine's state in and out
// of QEMU; booted.ts keys and caches a saved booted system across runs; evidence.ts keeps
// its boot's repro folder and console history with it.
export { loadState, resume, saveState, type SavedState } from './migrate.js';
export { bootedStateKey, discardBootedState, findBootedState, statesDir, storeBootedState, STATE_FORMAT, type StateKeyInput } from './booted.js';
export { filesOf, type BootedState } from './state.js';
export { captureEvidence, installEvidence } from './evidence.js';
