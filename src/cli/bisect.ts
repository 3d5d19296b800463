// `xen-pvh-virtio bisect COMPONENT [SCENARIO…] --good REF --bad REF`: finds the first commit of
// Xen, QEMU or Linux where the scenarios fail, building and running each commit as a run would,
// and reports it in bisect.md, JUnit, the job summary and the step's outputs.
import { appendFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { appendOutputs } from '../action/outputs.js';
import { BISECT_FLAGS, bisect, bisectExitCode, bisectMarkdown, bisectOutputs, childStepRunner, pinOtherComponents, readBisectRequest, verdictText, writeBisectJunit, type StepCli, type StepRunner } from '../bisect/index.js';
import { cancelOnSignals } from '../cancel.js';
import { prepareOutputPaths } from '../config/output-paths.js';
import { ExitCode } from '../errors.js';
import { parseCommandLine } from './args.js';

export const BISECT_USAGE = `Usage: xen-pvh-virtio bisect COMPONENT [SCENARIO…] --good REF --bad REF [--repo URL|DIR] [options]

Finds the first commit of COMPONENT (xen, qemu or linux) between --good (the scenarios pass)
and --bad (they fail) where the scenarios fail. Each step checks one commit out, builds it
with rig source (linux: with --linux-path on the rig you choose) and runs the scenarios:
  xen-pvh-virtio run SCENARIO… --<component>-path <checkout> --logs-dir <logs-dir>/step-N …
passed → good; a scenario failed → bad; a build failure or an infrastructure error → skip.
Built components stay in the cache, so no commit is ever built twice.

Bad first: if the scenarios pass on --bad there is nothing to bisect; then --good: if they
fail there too, nothing to bisect either. Then git bisect picks the commits between them.

  --good REF        last known good commit: a branch, tag or commit id (required)
  --bad REF         first known bad commit (required)
  --repo URL|DIR    the repository (default: --xen-repo / --qemu-repo / --linux-repo, or
                    their defaults; --<component>-path DIR takes a local checkout, which is
                    cloned, never changed). Cloned in full once into <cache-dir>/bisect/.
  Every run option (--xen-patches, --qemu-ref for the other component, --timeout-minutes
  per step, --fail-on-warnings, --cache-dir, …) is passed on to each step's run. The other
  components built from a branch (QEMU's master in a Xen bisection) are pinned to the
  commit it names when the bisection starts, so steps differ only in the commit tested.
  --logs-dir DIR    bisect.md (the verdict, then every step) and step-N/ (each run's logs,
                    its output in step-N/cli.log); default xen-pvh-virtio/logs
  --junit-path FILE JUnit: suite "bisect COMPONENT", a case per step and "first bad commit"

In a workflow step it also appends bisect.md to the job summary and sets the outputs
verdict (culprit | inconclusive | passes-on-bad | fails-on-good | untestable | stopped),
culprit, culprit-subject and candidates.

Exit codes: 1 the scenarios fail on bad and the verdict says where (a culprit, the candidates
when only skipped commits are left, or "fails on good too"); 0 they pass on bad (nothing to
bisect); 2 bad input (also when a step's run refuses its input); 3 an end could not be
tested (build failure, infrastructure error) or the bisect was stopped (SIGINT/SIGTERM).
`;

export interface BisectIo {
  out(text: string): void;
  err(text: string): void;
  cwd: string;
  /** GITHUB_OUTPUT and GITHUB_STEP_SUMMARY, when run in a workflow step. */
  env: NodeJS.ProcessEnv;
}

export interface BisectDeps {
  /** How each commit is tested; by default this CLI runs as a child. */
  runStep?: StepRunner;
  /** The CLI a step runs (default: this process's Node and script). */
  cli?: StepCli;
  /** After SIGINT/SIGTERM, how long a step's run gets to end before its process group is killed. */
  graceMs?: number;
}

export async function bisectCommand(argv: readonly string[], io: BisectIo, deps: BisectDeps = {}): Promise<number> {
  const parsed = parseCommandLine(argv, BISECT_FLAGS);
  if (parsed.help) {
    io.out(BISECT_USAGE);
    return ExitCode.passed;
  }
  const asked = readBisectRequest(parsed.words, parsed.raw, parsed.own, { cwd: io.cwd, env: io.env });
  prepareOutputPaths({ junitPath: asked.junitPath, logsDir: asked.logsDir, labels: { junitPath: parsed.raw.label('junit-path'), logsDir: parsed.raw.label('logs-dir') } });

  const start = Date.now();
  const log = (line: string) => io.err(`[${((Date.now() - start) / 1000).toFixed(1).padStart(7)}s] bisect: ${line}\n`);
  const req = await pinOtherComponents(asked, log);
  const graceMs = deps.graceMs ?? 30_000;
  const runStep = deps.runStep ?? childStepRunner(req, { cli: deps.cli ?? { node: process.execPath, script: process.argv[1]! }, env: io.env, cwd: io.cwd, graceMs });
  // The step's run gets its grace, then the bisect resets git and writes its reports.
  const cancel = cancelOnSignals(io, graceMs + 30_000);
  const result = await bisect(req, { runStep, log, signal: cancel.signal }).finally(cancel.dispose);

  const markdown = bisectMarkdown(result, req);
  const report = join(req.logsDir, 'bisect.md');
  writeFileSync(report, markdown);
  writeBisectJunit(result, req.junitPath);
  if (io.env.GITHUB_STEP_SUMMARY) appendFileSync(io.env.GITHUB_STEP_SUMMARY, markdown);
  if (io.env.GITHUB_OUTPUT) appendOutputs(io.env.GITHUB_OUTPUT, bisectOutputs(result));
  io.err(verdictText(result));
  io.err(`bisect report ${report}, JUnit ${req.junitPath}\n`);
  return bisectExitCode(result.verdict);
}
