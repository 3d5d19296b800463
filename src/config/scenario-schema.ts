// The scenario file format, as one zod schema. It validates, converts units, and is
// exported as JSON Schema (scenarios/schema.json) so editors can complete scenario files.
import { z } from 'zod';
import { CAPABILITIES } from '../rig/manifest.js';
import { closed, domUName, duration, got, pattern, text } from '../steps/fields.js';
import { STEP_KIND_NAMES, STEP_KINDS, type StepKindName } from '../steps/registry.js';
import { VIRTIO_PCI_NODES } from './types.js';
import { ADDRESS_PATTERN, SIZE_PATTERN, parseAddress, parseSizeMiB } from './units.js';

const size = z
  .string({ error: (issue) => `expected a size like 1024M or 1G, got ${got(issue.input)}` })
  .regex(new RegExp(SIZE_PATTERN), { error: (issue) => `expected a size like 1024M or 1G, got ${got(issue.input)}` })
  .refine((s) => parseSizeMiB(s) !== undefined, { error: (issue) => `expected a whole number of MiB, got ${got(issue.input)}` })
  .transform((s) => parseSizeMiB(s)!)
  .meta({ description: 'A size: a number and a unit (K, M, G, T; powers of 1024), e.g. 1024M or 1G.' });

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

type Kinds = typeof STEP_KINDS;

/** A step is a map with exactly one key: its kind's name, holding the kind's own map. */
const step = closed(
  Object.fromEntries(STEP_KIND_NAMES.map((k) => [k, STEP_KINDS[k].schema.optional()])) as {
    [K in StepKindName]: z.ZodOptional<Kinds[K]['schema']>;
  },
).superRefine((s, ctx) => {
  const kinds = STEP_KIND_NAMES.filter((k) => s[k] !== undefined);
  if (kinds.length !== 1) {
    ctx.addIssue({
      code: 'custom',
      message: `a step is exactly one of: ${STEP_KIND_NAMES.join(', ')} (got ${kinds.length ? kinds.join(' and ') : 'none'})`,
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
