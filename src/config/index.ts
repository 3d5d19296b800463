// config/: inputs, flags and scenario files in; one validated RunPlan out.
export { OPTIONS, OPTION_NAMES, OUTPUTS, STATE, SEED_SCENARIO, type OptionName, type OutputName, type RawOptions } from './options.js';
export { resolvePlan, mergeDomains, DOMAIN_DEFAULTS, type PlanEnv } from './plan.js';
export { loadScenarioFile, parseScenario } from './scenario-file.js';
export { scenarioJsonSchema } from './scenario-schema.js';
export { builtInScenarios, builtInScenarioDir, resolveScenarioFiles, splitList } from './scenario-list.js';
export { parseDuration, readDuration, parseSizeMiB, parseAddress, formatDuration, MAX_DURATION_MS } from './units.js';
export { prepareOutputPaths } from './output-paths.js';
export { MAX_SCENARIO_BYTES, MAX_ALIAS_NODES } from './scenario-source.js';
export type * from './types.js';
