import { z } from 'zod';
import { PROGRAMMES, READING_TYPES, SEVERITIES, severitySchema, type Programme, type Severity } from '../../domain/index.js';

/** The building blocks every rule schema shares (severities, conditions, tiers, the common fields). */

export { SEVERITIES, severitySchema, type Severity };

export function severityRank(s: Severity): number {
  return SEVERITIES.indexOf(s);
}

export const programmeSchema = z.enum(PROGRAMMES);
export type { Programme };

export const readingType = z.enum(READING_TYPES);
export const conditionSchema = z.object({
  field: z.string().min(1),
  op: z.enum(['<', '<=', '>', '>=']),
  value: z.number(),
});
export type Condition = z.infer<typeof conditionSchema>;

export const tierSchema = z.object({
  severity: severitySchema,
  match: z.enum(['any', 'all']).default('any'),
  conditions: z.array(conditionSchema).min(1),
});
export type Tier = z.infer<typeof tierSchema>;

/** Narrows a rule to readings with these tags (e.g. glucose source = cgm). */
export const whereSchema = z.record(z.string(), z.string()).default({});

export const common = {
  id: z.string().regex(/^[a-z0-9_.-]+$/),
  title: z.string().min(1),
  /** The published source of the default values (docs/clinical-reference.md), shown next to the rule. */
  source: z.string().min(1),
  enabled: z.boolean().default(true),
};
