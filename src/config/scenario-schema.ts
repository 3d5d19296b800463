// The scenario file format, as one zod schema. It validates, converts units, and is
// exported as JSON Schema (scenarios/schema.json) so editors can complete scenario files.
import { z } from 'zod';
import { CAPABILITIES } from '../rig/manifest.js';
import { VIRTIO_PCI_NODES } from './types.js';
import { ADDRESS_PATTERN, DURATION_PATTERN, SIZE_PATTERN, parseAddress, parseSizeMiB, readDuration } from './units.js';
import { compileUserPattern } from './user-pattern.js';

const got = (input: unknown) => (typeof input === 'string' ? JSON.stringify(input) : String(input));

/** A closed object: unknown keys are errors that list what is allowed. */
function closed<T extends z.ZodRawShape>(shape: T) {
  const allowed = Object.keys(shape).join(', ');
  return z.strictObject(shape, {
    error: (issue) =>
      issue.code === 'unrecognized_keys' ? `unknown key; expected one of: ${allowed}` : undefined,
  });
}

function text(what: string) {
  return z.string({ error: (issue) => `expected ${what}, got ${got(issue.input)}` }).min(1, `expected ${what}, got ""`);
}

const duration = z
  .string({ error: (issue) => `expected a duration like 300s or 5m, got ${got(issue.input)}` })
  .regex(new RegExp(DURATION_PATTERN), { error: (issue) => `expected a duration like 300s or 5m, got ${got(issue.input)}`, abort: true })
  // A zero deadline would silently become the default, and one past Node's timer range fires at once.
  .superRefine((s, ctx) => {
    const d = readDuration(s);
    if (d && 'problem' in d) ctx.addIssue({ code: 'custom', message: `${d.problem}, got ${got(s)}` });
  })
  .transform((s) => (readDuration(s) as { ms: number }).ms)
  .meta({ description: 'A duration: a number and a unit (ms, s, m, h), e.g. 300s or 5m.' });

const size = z
  .string({ error: (issue) => `expected a size like 1024M or 1G, got ${got(issue.input)}` })
  .regex(new RegExp(SIZE_PATTERN), { error: (issue) => `expected a size like 1024M or 1G, got ${got(issue.input)}` })
  .refine((s) => parseSizeMiB(s) !== undefined, { error: (issue) => `expected a whole number of MiB, got ${got(issue.input)}` })
  .transform((s) => parseSizeMiB(s)!)
  .meta({ description: 'A size: a number and a unit (K, M, G, T; powers of 1024), e.g. 1024M or 1G.' });

const pattern = z
  .string({ error: (issue) => `expected a regular expression, got ${got(issue.input)}` })
  .min(1, 'expected a regular expression, got ""')
  .superRefine((s, ctx) => {
    try {
      compileUserPattern(s);
    } catch (e) {
      ctx.addIssue({ code: 'custom', message: e instanceof SyntaxError ? `expected a regular expression: ${e.message}` : (e as Error).message });
    }
  })
  .transform((s) => compileUserPattern(s))
  .meta({ description: 'A JavaScript regular expression matched against the output; ^ and $ match at line boundaries.' });

const address = z
  .string({ error: (issue) => `expected an address like 0xf100000000, got ${got(issue.input)}` })
  .regex(new RegExp(ADDRESS_PATTERN), { error: (issue) => `expected an address like 0xf100000000, got ${got(issue.input)}` })
  .transform((s) => parseAddress(s)!)
  .meta({ description: 'A hexadecimal address or size, e.g. 0xf100000000.' });

const window = closed({ base: address, size: address });

const virtioPciMode = z
  .enum(['foreign', 'grants'], { error: (issue) => `expected foreign or grants, got ${got(issue.input)}` })
  .meta({ description: 'How the backend reaches domU memory: foreign mappings, or grants (needs CONFIG_XEN_VIRTIO in domU).' });

/** The string form takes upstream's default windows; the map form sets them. */
const virtioPci = z.union([
  virtioPciMode,
  closed({
    mode: virtioPciMode,
    ecam: window.optional(),
    mmio: window.optional(),
    prefetch: window.optional(),
    'intx-irq-base': z
      .number({ error: (issue) => `expected an interrupt number, got ${got(issue.input)}` })
      .int()
      .min(32, 'expected an SPI number (32 or more)')
      .optional(),
    node: z
      .enum(VIRTIO_PCI_NODES, { error: (issue) => `expected xen or passthrough, got ${got(issue.input)}` })
      .optional()
      .meta({
        description:
          "Who writes the host bridge into the domU's device tree: xen (Xen's dom0less virtio-pci property, as the seed does) or passthrough (our partial device tree; needs trap-unmapped-accesses). Absent: xen when the rig's Xen parses that property and the windows are its layout, else passthrough.",
      }),
  }),
], { error: (issue) => `expected foreign, grants or a map with mode and windows, got ${got(issue.input)}` });

const DOMAIN_NAME = /^domU[1-9][0-9]*$/;
const consoleName = z
  .string({ error: (issue) => `expected a console: xen, dom0 or a domU name, got ${got(issue.input)}` })
  .regex(/^(xen|dom0|domU[1-9][0-9]*)$/, { error: (issue) => `expected a console: xen, dom0 or a domU name, got ${got(issue.input)}` })
  .meta({ description: 'xen, dom0, or a domU declared under domains (domU1, domU2, …).' });

const domUName = z
  .string({ error: (issue) => `expected a domU name like domU1, got ${got(issue.input)}` })
  .regex(DOMAIN_NAME, { error: (issue) => `expected a domU name like domU1, got ${got(issue.input)}` });

const common = {
  timeout: duration.optional(),
  title: text('a title').optional(),
};

const waitStep = closed({
  console: consoleName,
  for: z
    .string({ error: (issue) => `expected "shell" or a regular expression, got ${got(issue.input)}` })
    .min(1)
    .meta({ description: '"shell" waits for the domain\'s shell; anything else is a regular expression to wait for.' }),
  ...common,
});

const consoleStep = closed({
  domain: consoleName,
  run: text('a command line'),
  expect: pattern.optional(),
  'expect-not': pattern.optional(),
  ...common,
});

const sshStep = closed({
  run: text('a command line'),
  expect: pattern.optional(),
  'expect-not': pattern.optional(),
  background: z.boolean({ error: (issue) => `expected true or false, got ${got(issue.input)}` }).optional(),
  ...common,
});

const backendStep = closed({
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
  ...common,
}).superRefine((s, ctx) => {
  if (s.stop && (s.devices || s.ready)) ctx.addIssue({ code: 'custom', message: 'a backend step either starts (devices, ready) or stops (stop: true), not both' });
  if (!s.stop && !s.devices) ctx.addIssue({ code: 'custom', path: ['devices'], message: 'expected the devices to serve (virtio-net, virtio-blk)' });
});

export const STEP_KINDS = ['wait', 'console', 'ssh', 'backend'] as const;

const step = closed({
  wait: waitStep.optional(),
  console: consoleStep.optional(),
  ssh: sshStep.optional(),
  backend: backendStep.optional(),
}).superRefine((s, ctx) => {
  const kinds = STEP_KINDS.filter((k) => s[k] !== undefined);
  if (kinds.length !== 1) {
    ctx.addIssue({
      code: 'custom',
      message: `a step is exactly one of: ${STEP_KINDS.join(', ')} (got ${kinds.length ? kinds.join(' and ') : 'none'})`,
    });
  }
});

const domain = closed({
  memory: size.optional(),
  cpus: z
    .number({ error: (issue) => `expected a whole number of cpus, got ${got(issue.input)}` })
    .int({ error: (issue) => `expected a whole number of cpus, got ${got(issue.input)}` })
    .min(1, 'expected at least 1 cpu')
    .optional(),
  vpl011: z.boolean({ error: (issue) => `expected true or false, got ${got(issue.input)}` }).optional(),
  'virtio-pci': virtioPci.optional().meta({ description: 'Give the domain a virtio-pci host bridge served by a QEMU in dom0.' }),
  bootargs: text('a kernel command line').optional(),
});

export const scenarioSchema = closed({
  name: z
    .string({ error: (issue) => `expected a scenario name, got ${got(issue.input)}` })
    .regex(/^[a-z0-9][a-z0-9-]*$/, { error: (issue) => `expected a name of lowercase letters, digits and dashes, got ${got(issue.input)}` }),
  description: text('a description').optional(),
  requires: z
    .array(z.enum(CAPABILITIES, { error: (issue) => `expected a capability (${CAPABILITIES.join(', ')}), got ${got(issue.input)}` }), {
      error: (issue) => `expected a list of capabilities, got ${got(issue.input)}`,
    })
    .default([]),
  domains: z
    .record(domUName, domain, { error: (issue) => `expected a map of domU names to domain specs, got ${got(issue.input)}` })
    .default({}),
  timeout: duration.optional().meta({ description: 'Default deadline for each step of this scenario (60s when absent).' }),
  'fresh-boot': z
    .boolean({ error: (issue) => `expected true or false, got ${got(issue.input)}` })
    .optional()
    .meta({
      description:
        'true: run on a machine booted for this scenario (e.g. it checks the boot itself), never on one restored from a saved booted system.',
    }),
  'expected-warnings': z
    .array(pattern, { error: (issue) => `expected a list of regular expressions, got ${got(issue.input)}` })
    .optional()
    .meta({
      description:
        'Kernel or Xen warnings this scenario is known to cause, as patterns matched against the warning line: with fail-on-warnings, a warning that matches none of them fails the scenario.',
    }),
  steps: z
    .array(step, { error: (issue) => `expected a list of steps, got ${got(issue.input)}` })
    .min(1, 'expected at least one step'),
});

export type ScenarioFile = z.output<typeof scenarioSchema>;

/** The JSON Schema editors use (published as scenarios/schema.json). */
export function scenarioJsonSchema(): unknown {
  return {
    ...z.toJSONSchema(scenarioSchema, { io: 'input', unrepresentable: 'any' }),
    title: 'xen-pvh-virtio scenario',
  };
}
