import { z } from 'zod';
import { common, conditionSchema, readingType, severitySchema, whereSchema } from './parts.js';

/**
 * The trend rules: they judge a window of the patient's history from the reading store, not a single reading.
 */

/** The mean of a window of the patient's readings crosses a line (e.g. the 7-day home BP average). */
export const averageRuleSchema = z.object({
  ...common,
  kind: z.literal('average'),
  readingType,
  where: whereSchema,
  windowDays: z.number().positive(),
  minReadings: z.number().int().min(1),
  severity: severitySchema,
  match: z.enum(['any', 'all']).default('any'),
  conditions: z.array(conditionSchema).min(1),
});

/** A rise against the patient's own earlier values (e.g. heart-failure weight gain). */
export const changeRuleSchema = z.object({
  ...common,
  kind: z.literal('change'),
  readingType,
  field: z.string().min(1),
  severity: severitySchema,
  /** Latest value minus the median of readings about `hours` earlier (within +/- 12 h) over `rise`. */
  windows: z.array(z.object({ hours: z.number().positive(), rise: z.number().positive() })).min(1),
});

/** The share of readings below a line over a window (e.g. CGM time below range). */
export const timeBelowRuleSchema = z.object({
  ...common,
  kind: z.literal('time_below'),
  readingType,
  where: whereSchema,
  field: z.string().min(1),
  below: z.number(),
  windowHours: z.number().positive(),
  maxShare: z.number().min(0).max(1),
  minReadings: z.number().int().min(1),
  severity: severitySchema,
});

/** A sustained drop of daily totals against the patient's own baseline (activity). */
export const dropRuleSchema = z.object({
  ...common,
  kind: z.literal('drop'),
  readingType,
  field: z.string().min(1),
  recentDays: z.number().int().min(1),
  baselineDays: z.number().int().min(1),
  /** Alert when the recent daily mean is below this fraction of the baseline daily mean. */
  ratio: z.number().positive().max(1),
  minBaselineDays: z.number().int().min(1),
  severity: severitySchema,
});
