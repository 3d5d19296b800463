// One booted system for a run: boot media → outer QEMU → Xen's console, with SSH to dom0
// on demand. It owns everything it starts and close() ends all of it, on every path.
import { copyFile, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { RunPlan } from './config/types.js';
import { Console, serialDuplex } from './console/index.js';
import { buildBootMedia, describeBootMedia, type BootMedia } from './image/index.js';
import { formatCommandLine, reservePort, startMachine, stopMachine, type Machine } from './machine/index.js';
import { Backends } from './backend/index.js';
import type { Rig } from './rig/manifest.js';
import type { CommandProtocol, ConsoleProtocol, ScenarioDrivers } from './scenario/runner.js';
import { Dom0Ssh, HostKeyPin, type BackgroundProcess } from './ssh/index.js';

export interface SessionHooks {
  info(line: string): void;
  /** A named moment of the boot, for the timeline (at: epoch ms, default now). */
  phase(name: string, at?: number): void;
  /** A process was started that must not outlive the run (the action's post step stops it). */
  onProcess?(pid: number): void;
}

export interface Session {
  media: BootMedia;
  machine: Machine;
  console: Console;
  /** The drivers one scenario runs against; each scenario gets its own background set. */
  driversFor(scenario: string): ScenarioDrivers;
  close(): Promise<void>;
}

const XEN_BANNER = /^\(XEN\) Xen version \d/;

/** Keeps what a developer needs to reproduce the boot by hand, next to the logs. */
async function keepBootRecipe(media: BootMedia, logsDir: string): Promise<void> {
  const dir = join(logsDir, 'boot');
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'plan.txt'), describeBootMedia(media));
  await writeFile(join(dir, 'qemu-command.txt'), formatCommandLine(media.launch.binary, media.launch.args) + '\n');
  if (media.dts) await writeFile(join(dir, 'xen.dts'), media.dts);
  if (media.bootScript) await copyFile(media.bootScript.sourcePath, join(dir, 'boot.script'));
}

export async function openSession(plan: RunPlan, rig: Rig, workDir: string, hooks: SessionHooks): Promise<Session> {
  const sshPort = await reservePort(plan.sshPort);
  const media = await buildBootMedia({ rig, domains: plan.domains, boot: plan.boot, workDir, sshPort }, hooks.info);
  await keepBootRecipe(media, plan.logsDir);
  hooks.info(`booting: ${plan.boot} path, ssh on 127.0.0.1:${sshPort}, logs in ${plan.logsDir}`);
  hooks.phase('qemu start');
  const machine = await startMachine(media.launch, { logDir: plan.logsDir });
  hooks.onProcess?.(machine.pid);

  await writeFile(join(plan.logsDir, 'qemu.pid'), `${machine.pid}\n`);
  // Console line times count from here: they convert to wall time for the timeline.
  const consoleEpoch = Date.now();
  const console = new Console(serialDuplex(machine.serial, machine.exited), {
    logDir: plan.logsDir,
    rawLog: false,
    domains: plan.domains.map((d) => ({ name: d.name, domid: d.domid })),
  });
  const unsubscribe = console.subscribe((line) => {
    if (line.source === 'xen' && XEN_BANNER.test(line.line)) {
      hooks.phase('xen banner', consoleEpoch + line.t);
      unsubscribe();
    }
  });

  const privateKey = await readFile(media.sshKey.privateKeyPath);
  const hostKey = new HostKeyPin();
  let ssh: Dom0Ssh | undefined;
  let sshPhaseSeen = false;
  const dom0 = async (deadlineMs: number): Promise<Dom0Ssh> => {
    if (ssh?.connected) return ssh;
    if (ssh) await ssh.reconnect(deadlineMs);
    else ssh = await Dom0Ssh.connect({ host: '127.0.0.1', port: machine.sshPort, username: 'root', privateKey, deadline: deadlineMs, hostKey });
    if (!sshPhaseSeen) {
      sshPhaseSeen = true;
      hooks.phase('ssh ready');
    }
    return ssh;
  };

  const consoleProtocol: ConsoleProtocol = {
    waitForShell: async (domain, ms) => ({ at: consoleEpoch + (await console.waitForShell(domain, ms)).line.t }),
    expect: (domain, pattern, ms) => console.expect(domain, pattern, ms),
    run: (domain, command, ms) => console.run(domain, command, ms),
    tail: (domain, lines) => console.tail(domain, lines),
  };

  let closed = false;
  return {
    media,
    machine,
    console,
    driversFor(scenario: string): ScenarioDrivers {
      const started = new Set<BackgroundProcess>();
      let death: Error | undefined;
      const commands = (link: Dom0Ssh): CommandProtocol => ({
        run: async (command, ms) => {
          const r = await link.exec(command, { deadline: ms });
          return { exitCode: r.exitCode, stdout: r.stdout, stderr: r.stderr };
        },
        background: async (name, command) => {
          const logFile = join(plan.logsDir, `${scenario}-${name.replace(/[^A-Za-z0-9._-]+/g, '_').slice(0, 60)}.log`);
          const proc = await link.background(name, command, { logFile });
          started.add(proc);
          proc.onDeath((error) => {
            death ??= error;
          });
          return { logFile };
        },
      });
      const backends = new Backends({
        domains: plan.domains,
        dom0,
        logsDir: plan.logsDir,
        scenario,
        onDeath: (error) => {
          death ??= error;
        },
      });
      return {
        console: consoleProtocol,
        dom0: async (ms) => commands(await dom0(ms)),
        backend: backends,
        takeDeath: () => {
          const d = death;
          death = undefined;
          return d;
        },
        cleanup: async () => {
          await backends.stopAll();
          for (const proc of started) await proc.stop(10_000).catch(() => undefined);
        },
      };
    },
    async close() {
      if (closed) return;
      closed = true;
      unsubscribe();
      await ssh?.close().catch(() => undefined);
      await stopMachine(machine).catch(() => undefined);
      await console.close().catch(() => undefined);
      if (media.socketDir !== workDir) await rm(media.socketDir, { recursive: true, force: true });
    },
  };
}
