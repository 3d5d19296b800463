// Runs the yocto provider's long host commands (kas, the SDK installer, configure, make):
// argument arrays, output appended to a log file, a deadline that kills the whole process
// group, and the reaper's SIGINT/SIGTERM handling so nothing outlives us.
import { spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { InfraError } from '../../errors.js';
import { forgetProcess, watchProcess } from '../../machine/reaper.js';
import type { Invocation } from './plan.js';

export interface StepOptions {
  cwd?: string;
  /** Appended to: the full output of every step, for the user to read after a failure. */
  logFile: string;
  timeoutMs: number;
  log: (line: string) => void;
}

export async function runStep(step: Invocation, opts: StepOptions): Promise<void> {
  const [command, ...args] = step.argv;
  const out = createWriteStream(opts.logFile, { flags: 'a' });
  out.write(`\n== ${step.purpose}: ${step.argv.join(' ')}\n`);
  opts.log(`${step.purpose}: ${step.argv.join(' ')} (log: ${opts.logFile})`);
  let tail = '';
  const started = Date.now();
  try {
    await new Promise<void>((resolve, reject) => {
      // Its own process group: kas starts a bitbake server that must die with it.
      const child = spawn(command!, args, { cwd: opts.cwd, env: { ...process.env, ...step.env }, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
      watchProcess(child);
      const collect = (chunk: Buffer) => {
        out.write(chunk);
        tail = (tail + chunk.toString('utf8')).slice(-8192);
      };
      child.stdout.on('data', collect);
      child.stderr.on('data', collect);
      let timedOut = false;
      const timer = setTimeout(() => {
        timedOut = true;
        try {
          process.kill(-child.pid!, 'SIGKILL');
        } catch {
          child.kill('SIGKILL');
        }
      }, opts.timeoutMs);
      child.once('error', (err) => {
        clearTimeout(timer);
        forgetProcess(child);
        reject(new InfraError(`${step.purpose}: cannot start ${command}: ${err.message}`, { cause: err, logFile: opts.logFile }));
      });
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        const lastLines = tail.trim().split('\n').slice(-20).join('\n');
        if (timedOut) reject(new InfraError(`${step.purpose}: ${command} did not finish within ${Math.round(opts.timeoutMs / 1000)} s; killed. Last output:\n${lastLines}`, { logFile: opts.logFile }));
        else if (code !== 0) reject(new InfraError(`${step.purpose}: ${step.argv.join(' ')} exited with ${code ?? signal}. Last output:\n${lastLines}`, { logFile: opts.logFile }));
        else resolve();
      });
    });
  } finally {
    await new Promise((r) => out.end(r));
  }
  opts.log(`${step.purpose}: done in ${Math.round((Date.now() - started) / 1000)} s`);
}
