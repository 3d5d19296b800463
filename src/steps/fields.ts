// The zod pieces scenario files are written with: each validates one kind of value, says
// what it expected in the user's terms, and carries the description editors show from
// scenarios/schema.json. They live below config/ because every step kind's schema is built
// from them, and config/scenario-schema.ts uses the same ones for the rest of the file.
import { z } from 'zod';
import { DURATION_PATTERN, readDuration } from '../config/units.js';
import { compileUserPattern } from '../config/user-pattern.js';

/** A value as a message quotes it: strings in quotes, anything else as it prints. */
export const got = (input: unknown) => (typeof input === 'string' ? JSON.stringify(input) : String(input));

/** A closed object: unknown keys are errors that list what is allowed. */
export function closed<T extends z.ZodRawShape>(shape: T) {
  const allowed = Object.keys(shape).join(', ');
  return z.strictObject(shape, {
    error: (issue) =>
      issue.code === 'unrecognized_keys' ? `unknown key; expected one of: ${allowed}` : undefined,
  });
}

export function text(what: string) {
  return z.string({ error: (issue) => `expected ${what}, got ${got(issue.input)}` }).min(1, `expected ${what}, got ""`);
}

export const duration = z
  .string({ error: (issue) => `expected a duration like 300s or 5m, got ${got(issue.input)}` })
  .regex(new RegExp(DURATION_PATTERN), { error: (issue) => `expected a duration like 300s or 5m, got ${got(issue.input)}`, abort: true })
  // A zero deadline would silently become the default, and one past Node's timer range fires at once.
  .superRefine((s, ctx) => {
    const d = readDuration(s);
    if (d && 'problem' in d) ctx.addIssue({ code: 'custom', message: `${d.problem}, got ${got(s)}` });
  })
  .transform((s) => (readDuration(s) as { ms: number }).ms)
  .meta({ description: 'A duration: a number and a unit (ms, s, m, h), e.g. 300s or 5m.' });

export const pattern = z
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

export const DOMAIN_NAME = /^domU[1-9][0-9]*$/;

export const consoleName = z
  .string({ error: (issue) => `expected a console: xen, dom0 or a domU name, got ${got(issue.input)}` })
  .regex(/^(xen|dom0|domU[1-9][0-9]*)$/, { error: (issue) => `expected a console: xen, dom0 or a domU name, got ${got(issue.input)}` })
  .meta({ description: 'xen, dom0, or a domU declared under domains (domU1, domU2, …).' });

export const domUName = z
  .string({ error: (issue) => `expected a domU name like domU1, got ${got(issue.input)}` })
  .regex(DOMAIN_NAME, { error: (issue) => `expected a domU name like domU1, got ${got(issue.input)}` });

/** Keys every step takes, written last in each kind's map (the order editors list them in). */
export const commonStepFields = {
  timeout: duration.optional(),
  title: text('a title').optional(),
};

/** The output checks of the steps that run a command. */
export const outputChecks = {
  expect: pattern.optional(),
  'expect-not': pattern.optional(),
};

/** The output checks as step data: only those the file gives. */
export function outputChecksOf(raw: { expect?: RegExp | undefined; 'expect-not'?: RegExp | undefined }): { expect?: RegExp; expectNot?: RegExp } {
  return { ...(raw.expect ? { expect: raw.expect } : {}), ...(raw['expect-not'] ? { expectNot: raw['expect-not'] } : {}) };
}
