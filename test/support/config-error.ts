// The message of the ConfigError a piece of bad input must raise (the test fails if none is).
import { expect } from 'vitest';
import { parseScenario } from '../../src/config/index.js';
import { ConfigError } from '../../src/errors.js';

export function configErrorOf(run: () => unknown): string {
  try {
    run();
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return (e as Error).message;
  }
  throw new Error('expected a ConfigError');
}

/** The error a scenario file with this text raises. */
export function scenarioErrorOf(source: string, file = 'bad.yaml'): string {
  return configErrorOf(() => parseScenario(file, source));
}
