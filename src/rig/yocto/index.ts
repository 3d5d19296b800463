// The yocto provider: kas builds the dom0 and domU images and the SDK, the SDK cross-builds
// the backend QEMU, and the deploy directory is mapped into a bundle. Every directory that
// is slow to fill (DL_DIR, SSTATE_DIR, the installed SDK, the QEMU build) is kept under a
// key of its own (see plan.ts), so a change touches only what depends on it.
import { cpus } from 'node:os';
import { access, mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { InfraError } from '../../errors.js';
import type { RigRequest } from '../../config/types.js';
import { run } from '../../host/exec.js';
import { redactCredentials } from '../../secrets.js';
import { findCommand } from '../../host/prerequisites.js';
import { readRig, verifyRig, writeManifest } from '../bundle.js';
import { buildAtomically, discardBundle, hasBundle, rigDir } from '../cache.js';
import type { ObtainedRig, RigProviderModule } from '../provider.js';
import { mapDeployDir } from './deploy.js';
import { DOM0_IMAGE, DOMU_IMAGE, SDK_IMAGE, describeYoctoPlan, planYocto, type YoctoPlan } from './plan.js';
import { runStep } from './steps.js';

export { describeYoctoPlan, planYocto } from './plan.js';

/** A first Yocto build of both images from an empty sstate takes hours. */
export const KAS_STEP_TIMEOUT_MS = 10 * 3600_000;
export const SDK_STEP_TIMEOUT_MS = 2 * 3600_000;

export interface YoctoOptions {
  cacheDir: string;
  log: (line: string) => void;
  useCache?: boolean;
  cwd?: string;
}

export function yoctoRecipe(request: RigRequest, opts: Pick<YoctoOptions, 'cacheDir' | 'cwd'>): Record<string, unknown> {
  return describeYoctoPlan(planYocto(request, { cacheDir: opts.cacheDir, cwd: opts.cwd ?? process.cwd() }));
}

export async function obtainYoctoRig(request: RigRequest, opts: YoctoOptions, mayBuild: boolean): Promise<ObtainedRig | undefined> {
  const plan = planYocto(request, { cacheDir: opts.cacheDir, cwd: opts.cwd ?? process.cwd() });
  const dir = rigDir(opts.cacheDir, plan.key);
  if (await hasBundle(dir)) {
    if (opts.useCache !== false) {
      try {
        const rig = await readRig(dir);
        await verifyRig(rig);
        opts.log(`rig cache hit: ${dir}`);
        return { rig, cacheHit: true, key: plan.key };
      } catch (cause) {
        opts.log(`warning: discarding damaged rig bundle: ${(cause as Error).message}`);
      }
    }
    await discardBundle(dir);
  }
  if (!mayBuild) return undefined;

  // Without kas nothing below can run: say so at once rather than fail deep inside a build.
  if (!(await findCommand('kas'))) {
    throw new InfraError(
      `rig yocto needs kas, which is not installed on this host (nothing named kas in PATH). Install kas on a machine that can fetch ${plan.kasFile}'s layers (see workflows/yocto.yml), or build the rig there and use it here with \`xen-pvh-virtio rig export\` and --rig prebuilt.`,
    );
  }
  for (const d of [plan.caches.downloads.dir, plan.caches.sstate.dir, plan.workDir]) await mkdir(d, { recursive: true });
  const logFile = join(plan.workDir, 'yocto-build.log');
  // A kas that cannot even start (broken Python install) fails here in seconds, not inside the first build.
  await runStep({ purpose: 'kas check', argv: ['kas', '--version'], env: {} }, { logFile, timeoutMs: 60_000, log: opts.log });
  for (const step of plan.kasSteps) await runStep(step, { logFile, timeoutMs: KAS_STEP_TIMEOUT_MS, log: opts.log, cwd: plan.workDir });

  const sdkEnv = await installSdk(plan, logFile, opts.log);
  const qemu = await buildQemu(plan, request, sdkEnv, logFile, opts.log);
  opts.log(`mapping ${plan.deployDir} into rig ${plan.key.slice(0, 12)}`);
  await buildAtomically(dir, async (tmp) => {
    const manifest = await mapDeployDir(
      {
        deployDir: plan.deployDir,
        machine: plan.machine,
        dom0Image: DOM0_IMAGE,
        domUImage: DOMU_IMAGE,
        backendQemu: { path: qemu.binary, origin: { repo: redactCredentials(plan.qemu.repo), commit: qemu.commit, built: `cross-built with the ${SDK_IMAGE} SDK: configure ${plan.qemu.configure.join(' ')}` } },
        key: plan.key,
        versions: { qemu: qemu.commit },
        notes: [`Built by kas from ${plan.kasFile} (${plan.kas.files.length} kas file(s) read); build log ${logFile}.`],
      },
      tmp,
    );
    await writeManifest(tmp, manifest);
  });
  const rig = await readRig(dir);
  await verifyRig(rig);
  return { rig, cacheHit: false, key: plan.key };
}

/** The yocto provider: kas and the SDK on this machine, the deploy directory mapped into a bundle. */
export const yoctoProvider = {
  recipe: (request, { cacheDir }) => yoctoRecipe(request, { cacheDir }),
  obtain: obtainYoctoRig,
} satisfies RigProviderModule;

const COMPLETE = '.xen-pvh-virtio-complete';

/** Installs the SDK into its cache slot (once per SDK key) and returns its environment. */
async function installSdk(plan: YoctoPlan, logFile: string, log: (line: string) => void): Promise<Record<string, string>> {
  const sdkDir = plan.caches.sdk.dir;
  if (!(await access(join(sdkDir, COMPLETE)).then(() => true, () => false))) {
    // No SDK deploy folder means no installer, which the error just below reports.
    const installers = (await readdir(plan.sdkDeployDir).catch(() => [])).filter((n) => n.includes(SDK_IMAGE) && /-toolchain-.*\.sh$/.test(n));
    if (installers.length === 0) throw new InfraError(`populate_sdk left no ${SDK_IMAGE} toolchain installer in ${plan.sdkDeployDir}`, { logFile });
    await rm(sdkDir, { recursive: true, force: true });
    await mkdir(sdkDir, { recursive: true });
    await runStep({ purpose: 'SDK install', argv: ['sh', join(plan.sdkDeployDir, installers.sort().at(-1)!), '-y', '-d', sdkDir], env: {} }, { logFile, timeoutMs: SDK_STEP_TIMEOUT_MS, log });
    await writeFile(join(sdkDir, COMPLETE), `${plan.caches.sdk.key}\n`);
  }
  const script = (await readdir(sdkDir)).find((n) => n.startsWith('environment-setup-'));
  if (!script) throw new InfraError(`the SDK in ${sdkDir} has no environment-setup-* script`, { logFile });
  // The script is shell: let sh read it and hand back the environment it builds. The path is an argument, not code.
  const { stdout } = await run('sh', ['-c', '. "$1" >/dev/null 2>&1 && env -0', 'sdk-env', join(sdkDir, script)]);
  return Object.fromEntries(
    stdout
      .split('\0')
      .filter((kv) => kv.includes('='))
      .map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]),
  );
}

/**
 * The clone of the user's QEMU: `--` ends git's options, so a qemu-repo such as
 * `--upload-pack=<command>` is a repository that does not exist, not a command git runs.
 */
export function qemuCloneArgv(ref: string, repo: string, dest: string): string[] {
  return ['git', 'clone', '--depth', '1', `--branch=${ref}`, '--', repo, dest];
}

/** Fetches the QEMU ref (a branch or tag), applies the user's patches and cross-builds it with the SDK. */
async function buildQemu(plan: YoctoPlan, request: RigRequest, sdkEnv: Record<string, string>, logFile: string, log: (line: string) => void): Promise<{ binary: string; commit: string }> {
  const slot = plan.caches.qemu.dir;
  const src = join(slot, 'src');
  const build = join(slot, 'build');
  const binary = join(build, 'qemu-system-aarch64');
  if (!(await access(join(slot, COMPLETE)).then(() => true, () => false))) {
    await rm(slot, { recursive: true, force: true });
    await mkdir(build, { recursive: true });
    await runStep({ purpose: 'QEMU fetch', argv: qemuCloneArgv(plan.qemu.ref, plan.qemu.repo, src), env: {} }, { logFile, timeoutMs: SDK_STEP_TIMEOUT_MS, log });
    for (const patch of request.qemuPatches ?? []) await run('patch', ['-p1', '--forward', '-i', patch], { cwd: src });
    const env = { ...sdkEnv, ...plan.qemu.env };
    await runStep({ purpose: 'QEMU configure (SDK)', argv: [join(src, 'configure'), ...plan.qemu.configure], env }, { logFile, timeoutMs: SDK_STEP_TIMEOUT_MS, log, cwd: build });
    await runStep({ purpose: 'QEMU build (SDK)', argv: ['make', `-j${cpus().length}`, 'qemu-system-aarch64'], env }, { logFile, timeoutMs: SDK_STEP_TIMEOUT_MS, log, cwd: build });
    await writeFile(join(slot, COMPLETE), `${plan.caches.qemu.key}\n`);
  }
  const { stdout } = await run('git', ['-C', src, 'rev-parse', 'HEAD']);
  return { binary, commit: stdout.trim() };
}
