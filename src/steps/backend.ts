// `backend`: start the device-model QEMU in dom0 for a domU and wait until it serves, or stop
// it. Its protocol is declared here, with the step it serves; drivers.ts gathers it into
// ScenarioDrivers (declaring it there would make these two modules import each other).
import { z } from 'zod';
import { InfraError } from '../errors.js';
import { closed, commonStepFields, domUName, got } from './fields.js';
import { defineStepKind, type StepBase } from './kind.js';

export type BackendDevice = 'virtio-net' | 'virtio-blk';

export interface BackendStep extends StepBase {
  kind: 'backend';
  domain: string;
  action: 'start' | 'stop';
  /** What to serve (start only). */
  devices: BackendDevice[];
  ready: 'ioreq';
}

export interface BackendProtocol {
  /** Starts the device model for a domU and resolves once it demonstrably serves it. */
  start(step: BackendStep, deadlineMs: number): Promise<{ evidence: string }>;
  /** Stops the domU's device model and resolves once it has exited. */
  stop(domain: string, deadlineMs: number): Promise<{ evidence: string }>;
}

export const backendStep = defineStepKind({
  name: 'backend',
  schema: closed({
    domain: domUName,
    devices: z
      .array(z.enum(['virtio-net', 'virtio-blk'], { error: (issue) => `expected virtio-net or virtio-blk, got ${got(issue.input)}` }), {
        error: (issue) => `expected a list of devices, got ${got(issue.input)}`,
      })
      .min(1, 'expected at least one device')
      .optional(),
    ready: z.enum(['ioreq'], { error: (issue) => `expected ioreq, got ${got(issue.input)}` }).optional(),
    stop: z
      .boolean({ error: (issue) => `expected true or false, got ${got(issue.input)}` })
      .optional()
      .meta({ description: "true stops the domain's running backend instead of starting one." }),
    ...commonStepFields,
  }).superRefine((s, ctx) => {
    if (s.stop && (s.devices || s.ready)) ctx.addIssue({ code: 'custom', message: 'a backend step either starts (devices, ready) or stops (stop: true), not both' });
    if (!s.stop && !s.devices) ctx.addIssue({ code: 'custom', path: ['devices'], message: 'expected the devices to serve (virtio-net, virtio-blk)' });
  }),
  parse(s, at): BackendStep {
    at.requireDeclared(s.domain, 'domain');
    const devices = s.devices ?? [];
    return {
      kind: 'backend',
      domain: s.domain,
      action: s.stop ? 'stop' : 'start',
      devices,
      ready: s.ready ?? 'ioreq',
      timeoutMs: at.timeoutMs(s.timeout),
      where: at.where,
      title: s.title ?? (s.stop ? `stop the backend for ${s.domain}` : `backend for ${s.domain}: ${devices.join(', ')}`),
    };
  },
  async run(step, drivers: { backend?: BackendProtocol }) {
    if (!drivers.backend) throw new InfraError('this run has no backend driver: the rig lacks the backend stack');
    const { evidence } = step.action === 'stop' ? await drivers.backend.stop(step.domain, step.timeoutMs) : await drivers.backend.start(step, step.timeoutMs);
    return { excerpt: evidence };
  },
  // Attached backends leave PCI devices, drivers and Xen IOREQ state in the domU behind.
  changesSystem: true,
  // The device model is started over SSH and needs Xen's IOREQ servers and QEMU's xenpvh PCI.
  needs: ['ioreq', 'qemu-xenpvh-pci', 'ssh'],
});
