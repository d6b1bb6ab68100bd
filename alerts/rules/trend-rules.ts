import { z } from 'zod';
import { common, conditionSchema, readingType, severitySchema, whereSchema } from './parts.js';

/**
 * Bounds on how much history one evaluation reads: trend rules run on every stored batch, so an override of a
 * year-long window (a typo) would stall evaluation for every patient. 90 days covers every guideline window.
 */
const MAX_WINDOW_DAYS = 90;
const MAX_BASELINE_DAYS = 365;

/**
 * The trend rules: they judge a window of the patient's history from the reading store, not a single reading,
 * on the patient's local days. Each has a clear margin (hysteresis): between its line and the margin an open
 * alert stays open, so a value hovering at the line does not open and resolve alert after alert.
 */

/**
 * The home BP monitoring protocol (AHA 2019, ESH 2021): morning and evening sessions, the readings of a session
 * averaged, the first day of monitoring discarded, the mean of the session means over the last local days.
 */
export const homeBpRuleSchema = z.object({
  ...common,
  kind: z.literal('home_bp'),
  readingType: z.literal('blood_pressure'),
  where: whereSchema,
  /** Local days, today included. */
  windowDays: z.number().int().min(1).max(MAX_WINDOW_DAYS),
  /** Days with at least one session, after the first day of monitoring is discarded. */
  minDays: z.number().int().min(1).max(MAX_WINDOW_DAYS),
  severity: severitySchema,
  match: z.enum(['any', 'all']).default('any'),
  conditions: z.array(conditionSchema).min(1),
  /** Back in range only this far inside the line, in mmHg. */
  clearMargin: z.number().min(0),
});

/** Heart-failure weight gain: today's morning weight against the lowest morning weight of the days before. */
export const weightGainRuleSchema = z.object({
  ...common,
  kind: z.literal('weight_gain'),
  readingType: z.literal('weight'),
  severity: severitySchema,
  /** A rise of more than `riseKg` over the lowest morning weight of the previous `days` local days. */
  windows: z.array(z.object({ days: z.number().int().min(1).max(MAX_WINDOW_DAYS), riseKg: z.number().positive() })).min(1).max(10),
  /** The care team's dry weight (per-patient override): today more than the longest window's rise above it. */
  dryWeightKg: z.number().min(1).max(400).optional(),
  /** Without a dry weight, the baseline is the median morning weight of this many days before the longest window. */
  baselineDays: z.number().int().min(1).max(MAX_BASELINE_DAYS),
  /** Resolves only within this of the baseline; further above it, an open alert stays (band). */
  clearMarginKg: z.number().min(0),
});

/** The share of readings below a line over a window (e.g. CGM time below range). */
export const timeBelowRuleSchema = z.object({
  ...common,
  kind: z.literal('time_below'),
  readingType,
  where: whereSchema,
  field: z.string().min(1),
  below: z.number(),
  windowHours: z.number().positive().max(MAX_WINDOW_DAYS * 24),
  maxShare: z.number().min(0).max(1),
  minReadings: z.number().int().min(1),
  severity: severitySchema,
  /** Back in range only at a share of `maxShare - clearMargin` or less (a fraction, 0.01 = 1 percentage point). */
  clearMargin: z.number().min(0).max(1),
});

/** A sustained drop of daily totals on local days against the patient's own baseline (activity). */
export const dropRuleSchema = z.object({
  ...common,
  kind: z.literal('drop'),
  readingType,
  field: z.string().min(1),
  recentDays: z.number().int().min(1).max(MAX_WINDOW_DAYS),
  baselineDays: z.number().int().min(1).max(MAX_BASELINE_DAYS),
  /** Alert when the recent daily mean is below this fraction of the baseline daily mean. */
  ratio: z.number().positive().max(1),
  minBaselineDays: z.number().int().min(1),
  severity: severitySchema,
  /** Back to baseline only at `ratio + clearMargin` or more (a fraction of the baseline mean). */
  clearMargin: z.number().min(0).max(1),
});

/** Every trend rule schema, for the rule union in schema.ts. */
export const trendRuleSchemas = [homeBpRuleSchema, weightGainRuleSchema, timeBelowRuleSchema, dropRuleSchema] as const;
export const TREND_KINDS = ['home_bp', 'weight_gain', 'time_below', 'drop'] as const;

export type HomeBpRule = z.output<typeof homeBpRuleSchema>;
export type WeightGainRule = z.output<typeof weightGainRuleSchema>;
export type TimeBelowRule = z.output<typeof timeBelowRuleSchema>;
export type DropRule = z.output<typeof dropRuleSchema>;
