// The one way host commands run: an argument array through @actions/exec, never a
// shell string, with the output captured so a failure can say what the tool printed.
import { getExecOutput } from '@actions/exec';
import { InfraError } from '../errors.js';
import { throwIfStopped } from './stop.js';

export interface RunOptions {
  cwd?: string;
  /** Added to this process's environment for the command; its PATH does not change where the command itself is looked up. */
  env?: Record<string, string>;
  /** Bytes for the command's stdin. */
  input?: Buffer;
  /** Return a non-zero exit instead of throwing. */
  allowFailure?: boolean;
  /** Echo output as it comes (long builds); quiet by default. */
  verbose?: boolean;
}

export interface ExecResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

export async function run(command: string, args: readonly string[], opts: RunOptions = {}): Promise<ExecResult> {
  // Short commands (apt, dpkg, git) are not killed mid-way, but none starts once the run has stopped.
  throwIfStopped();
  let result;
  try {
    result = await getExecOutput(command, [...args], {
      cwd: opts.cwd,
      env: opts.env ? { ...process.env, ...opts.env } as Record<string, string> : undefined,
      input: opts.input,
      silent: !opts.verbose,
      ignoreReturnCode: true,
    });
  } catch (cause) {
    throw new InfraError(`cannot run ${command}: ${(cause as Error).message}`, { cause });
  }
  if (result.exitCode !== 0 && !opts.allowFailure) {
    const said = (result.stderr.trim() || result.stdout.trim()).split('\n').slice(-20).join('\n');
    throw new InfraError(`${command} ${args.join(' ')} exited with ${result.exitCode}${said ? `:\n${said}` : ''}`);
  }
  return { exitCode: result.exitCode, stdout: result.stdout, stderr: result.stderr };
}
