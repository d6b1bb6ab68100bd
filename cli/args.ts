import { InvalidArgumentError, type Command } from 'commander';
import { z } from 'zod';
import { entityIdSchema, PROGRAMMES, READING_TYPES, timeZoneSchema } from '../domain/index.js';
import { CARE_TEAM } from '../registry/index.js';
import { parseDuration } from './run.js';

/**
 * A commander argument parser backed by a zod schema. A bad value stops the command before it touches any data,
 * with commander's "argument 'abc' is invalid" followed by what is allowed, and exit code 2 (usage).
 */
export function parsedBy<T>(schema: z.ZodType<T>, allowed: string): (value: string) => T {
  return (value: string) => {
    const result = schema.safeParse(value);
    if (!result.success) throw new InvalidArgumentError(`Allowed: ${allowed}.`);
    return result.data;
  };
}

/** The same for a variadic argument or option (`<programmes...>`): each value is checked, the list is kept. */
export function eachParsedBy<T>(schema: z.ZodType<T>, allowed: string): (value: string, previous: T[] | undefined) => T[] {
  const one = parsedBy(schema, allowed);
  return (value, previous) => [...(previous ?? []), one(value)];
}

const durationSchema = z.string().refine((text) => {
  try {
    return parseDuration(text) > 0;
  } catch {
    return false;
  }
});

/** Every kind of value the commands take, each with the words that say what is allowed. */
export const ARG = {
  patientId: parsedBy(entityIdSchema, '1-64 letters, digits, "_" or "-", e.g. p-1a2b3c4d5e6f'),
  deviceId: parsedBy(entityIdSchema, '1-64 letters, digits, "_" or "-", e.g. cuff-7'),
  alertId: parsedBy(z.coerce.number().int().positive().max(Number.MAX_SAFE_INTEGER), 'an alert number from "vigil alerts list", e.g. 12'),
  seq: parsedBy(z.coerce.number().int().positive().max(Number.MAX_SAFE_INTEGER), 'a seq from "vigil alerts parked", e.g. 3'),
  deadLetterIds: eachParsedBy(z.coerce.number().int().positive().max(Number.MAX_SAFE_INTEGER), 'dead letter ids from "vigil dead-letters list", e.g. 4 5'),
  count: parsedBy(z.coerce.number().int().positive().max(1_000_000), 'a whole number from 1 to 1000000'),
  countOrZero: parsedBy(z.coerce.number().int().min(0).max(1_000_000), 'a whole number from 0 to 1000000'),
  seconds: parsedBy(z.coerce.number().positive().max(31 * 86_400), 'a number of seconds above 0, e.g. 5 or 0.5'),
  factor: parsedBy(z.coerce.number().positive().max(1_000_000), 'a number above 0, e.g. 1000'),
  seed: parsedBy(z.coerce.number().int().min(0).max(2 ** 31), 'a whole number from 0, e.g. 42'),
  duration: parsedBy(durationSchema, 'a duration like 90s, 15m, 24h or 7d'),
  careTeam: parsedBy(z.string().regex(CARE_TEAM), '1-64 letters, digits, spaces, "_", "." or "-", e.g. cardiology'),
  careTeams: eachParsedBy(z.string().regex(CARE_TEAM), 'care teams of 1-64 letters, digits, spaces, "_", "." or "-", e.g. cardiology'),
  programmes: eachParsedBy(z.enum(PROGRAMMES), PROGRAMMES.join(', ')),
  readingType: parsedBy(z.enum(READING_TYPES), READING_TYPES.join(', ')),
  timeZone: parsedBy(timeZoneSchema, 'an IANA time zone such as Europe/London, America/New_York or UTC'),
  time: parsedBy(z.iso.datetime({ offset: true }), 'an RFC 3339 time such as 2026-12-24T00:00:00Z'),
  url: parsedBy(z.url({ protocol: /^https?$/ }), 'an http or https URL such as https://vigil.example.org/fhir'),
  name: parsedBy(z.string().trim().min(1).max(200), 'a non-empty text of at most 200 characters'),
  actor: parsedBy(z.string().regex(/^[\w .@-]{1,64}$/), '1-64 letters, digits, spaces, "_", ".", "@" or "-" (the audit log records who acted)'),
} as const;

/** One of a fixed set of words, e.g. `--status open`. */
export function oneOf<const T extends readonly [string, ...string[]]>(values: T): (value: string) => T[number] {
  return parsedBy(z.enum(values), values.join(', '));
}

/** Adds the examples every command shows at the end of its --help. */
export function examples(command: Command, ...lines: string[]): Command {
  return command.addHelpText('after', `\nExample${lines.length > 1 ? 's' : ''}:\n${lines.map((l) => `  ${l}`).join('\n')}\n`);
}
