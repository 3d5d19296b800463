// backend/: the device-model QEMU that dom0 runs for a domU's virtio-pci host bridge. It
// starts over SSH, is "ready" only on QEMU's own evidence (its IOREQ server exists and has
// taken the bridge's ECAM), keeps its output as its own log, and is stopped by its owner.
import { join } from 'node:path';
import type { BackendStep, DomainSpec } from '../config/types.js';
import { Deadline } from '../deadline.js';
import { ConfigError, InfraError, ProductFailure } from '../errors.js';
import { backendQemuArgs, backendReadiness, resolvePciHostBridge } from '../image/index.js';
import type { BackendProtocol } from '../scenario/runner.js';
import { describeExit, shellQuote, type BackgroundProcess, type Dom0Ssh } from '../ssh/index.js';

/** The backend QEMU inside dom0 (the rig installs it there). */
export const BACKEND_BINARY = '/usr/bin/qemu-system-aarch64';
/** Size of each virtio-blk backing file; dom0's root is RAM, so keep it small. */
const DISK_MIB = 64;

export interface BackendsOptions {
  domains: readonly DomainSpec[];
  dom0(deadlineMs: number): Promise<Dom0Ssh>;
  /** Host folder for the backends' logs (one file per start). */
  logsDir: string;
  /** Prefix for log names: the scenario the backends belong to. */
  scenario: string;
  /** A backend died while it was supposed to serve: the scenario should fail with this. */
  onDeath(error: Error): void;
}

export class Backends implements BackendProtocol {
  private readonly running = new Map<string, BackgroundProcess>();
  private starts = 0;

  constructor(private readonly opts: BackendsOptions) {}

  async start(step: BackendStep, deadlineMs: number): Promise<{ evidence: string }> {
    const deadline = Deadline.after(deadlineMs);
    const domain = this.opts.domains.find((d) => d.name === step.domain);
    if (!domain) throw new ConfigError(`backend: ${step.domain} is not a domain of this boot`, step.where);
    const bridge = resolvePciHostBridge(domain);
    if (!bridge) throw new ConfigError(`backend: ${step.domain} has no virtio-pci host bridge (set virtio-pci on the domain)`, step.where);
    if (this.running.has(domain.name)) throw new InfraError(`backend: one is already running for ${domain.name}; stop it first`);

    const ssh = await this.opts.dom0(deadline.remainingMs());
    const disks: string[] = [];
    for (const [i] of step.devices.filter((d) => d === 'virtio-blk').entries()) {
      const path = `/root/${domain.name}-blk${i}.img`;
      const made = await ssh.exec(`dd if=/dev/zero of=${shellQuote(path)} bs=1M count=${DISK_MIB} 2>&1`, { deadline: deadline.remainingMs() });
      if (made.exitCode !== 0) throw new InfraError(`backend: cannot make ${path} in dom0: ${made.stdout.trim()}`);
      disks.push(path);
    }
    const argv = [BACKEND_BINARY, ...backendQemuArgs({ bridge, devices: step.devices, disks })];
    const logFile = join(this.opts.logsDir, `${this.opts.scenario}-backend-${domain.name}-${++this.starts}.log`);
    const proc = await ssh.background(`backend-${domain.name}`, argv.map(shellQuote).join(' '), { logFile, deadline: deadline.remainingMs() });
    this.running.set(domain.name, proc);
    proc.onDeath((error) => {
      if (this.running.get(domain.name) === proc) this.opts.onDeath(error);
    });

    const ready = backendReadiness(bridge);
    const failed = proc.waitForLine(ready.ioreqFailed, deadline).then(
      (line) => {
        throw new ProductFailure(`backend for ${domain.name} runs but cannot serve it: ${line.trim()}\n${proc.tail()}`);
      },
      // No failure line before the deadline: leave the race to the readiness waits.
      () => new Promise<never>(() => undefined),
    );
    try {
      const created = await Promise.race([proc.waitForLine(ready.ioreqServerCreated, deadline), failed]);
      const mapped = await Promise.race([proc.waitForLine(ready.ecamMapped, deadline), failed]);
      return { evidence: `${argv.join(' ')}\n${String(created).trim()}\n${String(mapped).trim()}\n(log: ${logFile})` };
    } catch (e) {
      this.running.delete(domain.name);
      // The failed start is what the step reports; a backend that will not stop is still killed by its group.
      await proc.stop(5_000).catch(() => undefined);
      throw e;
    }
  }

  async stop(domainName: string, deadlineMs: number): Promise<{ evidence: string }> {
    const proc = this.running.get(domainName);
    if (!proc) throw new ProductFailure(`backend: none is running for ${domainName}`);
    // Taken out of `running` first: its exit is now expected, not a death to report.
    this.running.delete(domainName);
    const exit = await proc.stop(deadlineMs);
    return { evidence: `backend for ${domainName} ${describeExit(exit)}` };
  }

  async stopAll(deadlineMs = 10_000): Promise<void> {
    const all = [...this.running.entries()];
    this.running.clear();
    // Every backend gets its stop; those that did not stop are named (the scenario's cleanup reports it).
    const failures: string[] = [];
    await Promise.all(all.map(([domain, proc]) => proc.stop(deadlineMs).catch((e: unknown) => failures.push(`${domain}: ${(e as Error).message}`))));
    if (failures.length > 0) throw new InfraError(`backend(s) did not stop: ${failures.join('; ')}`);
  }
}
