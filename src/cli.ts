#!/usr/bin/env node
import { cliMain } from './cli/main-impl.js';

process.exitCode = await cliMain(process.argv.slice(2), {
  out: (t) => process.stdout.write(t),
  err: (t) => process.stderr.write(t),
  cwd: process.cwd(),
  env: process.env,
});
