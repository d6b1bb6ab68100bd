import { z } from 'zod';
import { PROGRAMMES, READING_TYPES, type Programme } from '../../domain/index.js';

export const SEVERITIES = ['info', 'warning', 'critical'] as const;
export const severitySchema = z.enum(SEVERITIES);
export type Severity = z.infer<typeof severitySchema>;

export function severityRank(s: Severity): number {
  return SEVERITIES.indexOf(s);
}

export const programmeSchema = z.enum(PROGRAMMES);
export type { Programme };

const readingType = z.enum(READING_TYPES);
const conditionSchema = z.object({
  field: z.string().min(1),
  op: z.enum(['<', '<=', '>', '>=']),
  value: z.number(),
});
export type Condition = z.infer<typeof conditionSchema>;

const tierSchema = z.object({
  severity: severitySchema,
  match: z.enum(['any', 'all']).default('any'),
  conditions: z.array(conditionSchema).min(1),
});
export type Tier = z.infer<typeof tierSchema>;

/** Narrows a rule to readings with these tags (e.g. glucose source = cgm). */
const whereSchema = z.record(z.string(), z.string()).default({});

const common = {
  id: z.string().regex(/^[a-z0-9_.-]+$/),
  title: z.string().min(1),
  /** The published source of the default values (clinical.md), shown next to the rule. */
  source: z.string().min(1),
  enabled: z.boolean().default(true),
};

/** A value on a single reading crosses a line: the highest matching tier sets the severity. */
export const thresholdRuleSchema = z.object({
  ...common,
  kind: z.literal('threshold'),
  readingType,
  where: whereSchema,
  tiers: z.array(tierSchema).min(1),
  /** A reading counts as back in range only this far inside the line (hysteresis, in the field's unit). */
  clearMargin: z.number().min(0).default(0),
  /** Back in range for this long (measurement time) resolves the alert by itself. */
  resolveAfterMinutes: z.number().min(0).default(60),
});

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

/** No reading of a type for longer than the patient's plan expects (swept on a schedule). */
export const missingRuleSchema = z.object({
  ...common,
  kind: z.literal('missing'),
  readingType,
  where: whereSchema,
  maxGapHours: z.number().positive(),
  /** Only for patients who have sent this kind of reading before (e.g. CGM: not every patient wears one). */
  requireHistory: z.boolean().default(false),
  severity: severitySchema,
});

/** An event reading is an alert by itself (a fall). */
export const eventRuleSchema = z.object({
  ...common,
  kind: z.literal('event'),
  readingType,
  minConfidence: z.number().min(0).max(1).default(0),
  severity: severitySchema,
});

/** A device's own state: battery low, or offline for too long (swept on a schedule). */
export const deviceRuleSchema = z.object({
  ...common,
  kind: z.literal('device'),
  check: z.enum(['battery_low', 'offline']),
  batteryBelow: z.number().min(0).max(100).default(15),
  offlineHours: z.number().positive().default(24),
  severity: severitySchema,
});

export const ruleSchema = z.discriminatedUnion('kind', [
  thresholdRuleSchema,
  averageRuleSchema,
  changeRuleSchema,
  timeBelowRuleSchema,
  dropRuleSchema,
  missingRuleSchema,
  eventRuleSchema,
  deviceRuleSchema,
]);
export type Rule = z.output<typeof ruleSchema>;
export type RuleInput = z.input<typeof ruleSchema>;
export type ThresholdRule = z.output<typeof thresholdRuleSchema>;
export type AverageRule = z.output<typeof averageRuleSchema>;
export type ChangeRule = z.output<typeof changeRuleSchema>;
export type TimeBelowRule = z.output<typeof timeBelowRuleSchema>;
export type DropRule = z.output<typeof dropRuleSchema>;
export type MissingRule = z.output<typeof missingRuleSchema>;
export type EventRule = z.output<typeof eventRuleSchema>;
export type DeviceRule = z.output<typeof deviceRuleSchema>;

/** A per-programme or per-patient change to a rule: any of its values, never its id or kind. */
export const ruleOverrideSchema = z
  .record(z.string(), z.unknown())
  .refine((o) => !('id' in o) && !('kind' in o), 'an override cannot change the rule id or kind');
export type RuleOverride = z.infer<typeof ruleOverrideSchema>;
