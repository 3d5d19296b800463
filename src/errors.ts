// Error classes shared by every stage. The class decides the exit code and the JUnit
// element: configuration → exit 2, infrastructure → <error> / exit 3, product → <failure> / exit 1.

/** Where in a user's file something was written. Lines and columns count from 1. */
export interface SourcePos {
  file: string;
  line: number;
  column: number;
}

export function formatPos(pos: SourcePos): string {
  return `${pos.file}:${pos.line}:${pos.column}`;
}

/** Bad input: a scenario file, an action input or a CLI flag. Always names where. */
export class ConfigError extends Error {
  override name = 'ConfigError';
  constructor(
    message: string,
    readonly where?: SourcePos,
  ) {
    super(where ? `${formatPos(where)}: ${message}` : message);
  }
}

/** The harness or the host failed (rig build, QEMU start, port busy, SSH never up). */
export class InfraError extends Error {
  override name = 'InfraError';
  constructor(
    message: string,
    readonly detail: { consoleTail?: string; logFile?: string; cause?: unknown } = {},
  ) {
    super(message, detail.cause === undefined ? undefined : { cause: detail.cause });
  }
}

/** The system under test misbehaved (panic, device missing, ping loss, backend crash). */
export class ProductFailure extends Error {
  override name = 'ProductFailure';
  constructor(
    message: string,
    readonly detail: { consoleTail?: string; logFile?: string } = {},
  ) {
    super(message);
  }
}

export const ExitCode = {
  passed: 0,
  failed: 1,
  usage: 2,
  infrastructure: 3,
} as const;
