// Xen from the user's ref: the hypervisor (arm64 defconfig + IOREQ) and the tools from the
// same tree, so they always match, cross-built for arm64 with the pinned toolchain against its
// bookworm arm64 sysroot. One cached component (`source-xen`): the hypervisor files plus the tools
// installed into stage/ (headers, libraries and .pc files too: QEMU links against them).
import { availableParallelism } from 'node:os';
import { copyFile, lstat, mkdir, readFile, readdir, stat, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { run } from '../../host/exec.js';
import { InfraError } from '../../errors.js';
import { buildArgsText } from '../../config/build-args.js';
import { isElf } from '../build/elf.js';
import { localSourcesOf, originKey, originText, type TreeOrigin } from '../build/origin.js';
import { describePatch, userPatchSeries, type PatchFile } from '../build/patches.js';
import { fetchOrigin, planComponent, type ComponentPlan, type ComponentRecipe, type MakeContext, type Made } from '../build/recipe.js';
import { compileHypervisor, configOfLastBuild, XEN_CONFIG_DELTA, XEN_MAKE_VARS } from '../build/xen.js';
import { CROSS_PREFIX, TARGET_TRIPLET } from '../toolchain/index.js';
import {
  AUTOCONF_AUX,
  SOURCE_XEN_BUILD_VERSION,
  SOURCE_TREES_UNDER_TEST,
  SOURCE_XEN_COMPONENT,
  STAGE_LIBDIR,
  XEN_TOOLS_CONFIGURE_FLAGS,
  XEN_TOOLS_SUBDIRS,
} from './recipe.js';

export interface SourceXenPlan extends ComponentPlan<ReturnType<typeof xenInputs>> {
  origin: TreeOrigin;
  patches: PatchFile[];
  /** Built in the cache's persistent build tree (incremental-builds); not keyed: the result is the same. */
  incremental: boolean;
}

/** The user's extra arguments (xen-configure-args, xen-make-args), each an argv element. */
export interface XenBuildArgs {
  configure?: readonly string[];
  make?: readonly string[];
}

function xenInputs(origin: TreeOrigin, patches: PatchFile[], toolchain: string, args: XenBuildArgs) {
  return {
    component: SOURCE_XEN_COMPONENT,
    buildVersion: SOURCE_XEN_BUILD_VERSION,
    // The commit id (or the local tree's identity) names the tree; the repository URL does
    // not change what is built.
    ...originKey(origin),
    config: 'defconfig',
    configDelta: [...XEN_CONFIG_DELTA],
    make: [...XEN_MAKE_VARS],
    toolsConfigure: [...XEN_TOOLS_CONFIGURE_FLAGS],
    toolsSubdirs: [...XEN_TOOLS_SUBDIRS],
    toolchain,
    patches: patches.map((p) => p.sha256),
    // Only when given: a build without them keeps the key it always had.
    ...(args.configure?.length ? { userConfigure: [...args.configure] } : {}),
    ...(args.make?.length ? { userMake: [...args.make] } : {}),
  };
}

export async function planSourceXen(origin: TreeOrigin, toolchainKey: string, userPatches: readonly string[] = [], args: XenBuildArgs = {}, incremental = false): Promise<SourceXenPlan> {
  const patches = await userPatchSeries(userPatches);
  return { ...planComponent(xenInputs(origin, patches, toolchainKey, args)), origin, patches, incremental };
}

/** The source-xen component: the hypervisor and the tools, from the user's tree. */
export function sourceXenComponent(plan: SourceXenPlan): ComponentRecipe {
  return {
    plan,
    label: SOURCE_TREES_UNDER_TEST[0],
    describe: '(hypervisor and tools)',
    underTest: true,
    reuseTree: plan.incremental,
    patches: plan.patches,
    fetch: ({ build, log }) => fetchOrigin(build, 'xen', plan.origin, log),
    localSources: () => localSourcesOf(plan.origin),
    make: (ctx) => makeSourceXen(ctx, plan),
  };
}

async function makeSourceXen({ build, tree, out, toolchain, host, reused, log }: MakeContext, plan: SourceXenPlan): Promise<Made> {
  const env = toolchain.env;
  // The user's make arguments come after ours: on make's command line the last one wins.
  const vars = [...XEN_MAKE_VARS, ...(plan.inputs.userMake ?? [])];
  const make = ['-C', 'xen', ...vars];
  const lastConfig = reused && !reused.fresh ? await configOfLastBuild(tree) : undefined;
  await build.step('make defconfig', 'defconfig.log', 'make', [...make, 'defconfig'], { cwd: tree, env });
  const features = await compileHypervisor(build, tree, out, toolchain, plan.inputs.userMake, lastConfig);

  // Trees from a distribution's source (Debian's, for one) may lack the generated configure
  // and autoconf's helper scripts, which upstream's git keeps. In a reused tree, the configure
  // autogen made last time serves until configure.ac or its macros change.
  // A configure the commit itself brings is the commit's, never regenerated over.
  const configure = join(tree, 'configure');
  const generated = reused?.previous.autogen === 'yes' && !(reused.changed.has('configure') && (await exists(configure)));
  if (!(await exists(configure)) || (generated && touchesConfigure(reused!.changed))) {
    await build.step('autogen.sh', 'autogen.log', './autogen.sh', [], { cwd: tree, env });
    if (reused) reused.notes.autogen = 'yes';
  } else if (generated) reused!.notes.autogen = 'yes';
  for (const aux of AUTOCONF_AUX) if (!(await exists(join(tree, basename(aux))))) await copyFile(aux, join(tree, basename(aux)));
  const buildTriplet = (await run('gcc', ['-dumpmachine'])).stdout.trim();
  const configureArgs = [`--build=${buildTriplet}`, `--host=${TARGET_TRIPLET}`, ...XEN_TOOLS_CONFIGURE_FLAGS, ...(plan.inputs.userConfigure ?? [])];
  // What configure's outcome depends on besides its input files: its arguments and the toolchain's environment.
  const configuredWith = JSON.stringify({ args: configureArgs, env });
  if (reused && !reused.fresh && reused.previous.configure === configuredWith && !touchesConfigure(reused.changed) && (await exists(join(tree, 'config.status')))) {
    log(`xen: configure the tools: skipped (the reused tree was configured with the same arguments, and no configure input changed)`);
  } else {
    await build.step('configure the tools', 'tools-configure.log', './configure', configureArgs, { cwd: tree, env });
  }
  if (reused) reused.notes.configure = configuredWith;
  const subdirs: string[] = [];
  for (const d of XEN_TOOLS_SUBDIRS) if (await exists(join(tree, 'tools', d, 'Makefile'))) subdirs.push(d);
  const jobs = availableParallelism();
  const stage = join(out, 'stage');
  // One make per subdirectory, in order (libs first): SUBDIRS-y on tools/' command line would
  // reach tools/libs' own SUBDIRS-y through MAKEFLAGS.
  await build.step('make the public headers', 'tools-headers.log', 'make', ['-C', 'tools/include', ...vars], { cwd: tree, env });
  for (const d of subdirs) {
    await build.step(`make -j${jobs} tools/${d}`, `tools-${d}.log`, 'make', ['-C', `tools/${d}`, `-j${jobs}`, ...vars, 'all'], { cwd: tree, env });
  }
  // tools/'s own install target makes this before its subdirectories copy .pc files into it.
  await mkdir(join(stage, STAGE_LIBDIR, 'pkgconfig'), { recursive: true });
  // The tree's own public headers (xen/*.h) go into the stage too: QEMU then compiles the
  // tree's xenctrl.h against them, never against another Xen's headers in the sysroot.
  await build.step('install the public headers', 'tools-headers-install.log', 'make', ['-C', 'tools/include', ...vars, 'install', `DESTDIR=${stage}`], { cwd: tree, env });
  for (const d of subdirs) {
    await build.step(`install tools/${d}`, `tools-${d}-install.log`, 'make', ['-C', `tools/${d}`, ...vars, 'install', `DESTDIR=${stage}`], { cwd: tree, env });
  }
  await build.phase('strip', () => stripElves(stage, join(toolchain.bin, `${CROSS_PREFIX}strip`)));

  const version = await xenVersion(tree, env, vars);
  await writeFile(join(out, 'version'), `${version}\n`);
  return {
    files: { image: 'xen', config: 'xen.config', syms: 'xen-syms', stage: 'stage', version: 'version' },
    features,
    built: sourceXenBuiltText(plan, host, subdirs),
  };
}

/** The version the tree says it is (for the manifest only; capabilities never come from it). */
async function xenVersion(tree: string, env: Record<string, string>, vars: readonly string[]): Promise<string> {
  const r = await run('make', ['-s', '-C', 'xen', ...vars, 'xenversion'], { cwd: tree, env, allowFailure: true });
  const v = r.stdout.trim().split('\n').pop() ?? '';
  return r.exitCode === 0 && v ? v : 'unknown';
}

/** Debug info out of every ELF file the tools installed (they are built -g; dom0 is a ramdisk). */
async function stripElves(dir: string, strip: string): Promise<void> {
  for (const name of await readdir(dir)) {
    const path = join(dir, name);
    const st = await lstat(path);
    if (st.isDirectory()) await stripElves(path, strip);
    else if (st.isFile() && !name.endsWith('.a')) {
      const head = await readFile(path).then((b) => b.subarray(0, 4));
      if (isElf(head)) await run(strip, ['--strip-debug', path]);
    }
  }
}

/** Whether a changed source reaches what configure reads or autogen makes (configure itself, its templates, its macros). */
export function touchesConfigure(changed: ReadonlySet<string>): boolean {
  for (const p of changed) if (CONFIGURE_INPUT.test(p)) return true;
  return false;
}
const CONFIGURE_INPUT = /(^|\/)(configure|configure\.ac|aclocal\.m4|autogen\.sh|config\.sub|config\.guess|install\.sh)$|\.in$|(^|\/)m4\//;

async function exists(path: string): Promise<boolean> {
  return stat(path).then(() => true, () => false);
}

/** Where a tool landed in the installed tools, searched where Xen installs programs. */
export async function findTool(stage: string, name: string): Promise<string> {
  const dirs = ['/usr/sbin', '/usr/bin', '/usr/lib/xen/bin', '/usr/libexec/xen/bin', '/usr/lib/aarch64-linux-gnu/xen/bin'];
  for (const d of dirs) if (await exists(join(stage, d, name))) return `${d}/${name}`;
  throw new InfraError(`the Xen tools built from source installed no ${name} (looked in ${dirs.join(', ')} under ${stage})`);
}

export function sourceXenBuiltText(plan: SourceXenPlan, host: Record<string, string>, subdirs: string[]): string {
  const patches = plan.patches.map((p) => `${describePatch(p).file} (sha256 ${p.sha256.slice(0, 16)})`).join(', ') || 'none';
  return (
    `Xen hypervisor and tools built by xen-pvh-virtio (${SOURCE_XEN_BUILD_VERSION}) from ${originText(plan.origin)} ` +
    `plus the user's patches: ${patches}; hypervisor: make defconfig + ${XEN_CONFIG_DELTA.join(' ')}, olddefconfig, make ${XEN_MAKE_VARS.join(' ')}; ` +
    `tools: configure --host=${TARGET_TRIPLET} ${XEN_TOOLS_CONFIGURE_FLAGS.join(' ')}, make and install tools/{${subdirs.join(',')}}, debug info stripped; ` +
    `with the pinned ${Object.entries(host).map(([k, v]) => `${k} ${v}`).join(', ')} (bookworm arm64 sysroot)` +
    (plan.inputs.userMake ? `; the user's make arguments (every make): ${buildArgsText(plan.inputs.userMake)}` : '') +
    (plan.inputs.userConfigure ? `; the user's configure arguments (tools): ${buildArgsText(plan.inputs.userConfigure)}` : '')
  );
}
