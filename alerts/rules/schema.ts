import { z } from 'zod';

import { common, conditionSchema, readingType, severitySchema, tierSchema, whereSchema } from './parts.js';

export { SEVERITIES, severityRank, severitySchema, programmeSchema, type Condition, type Severity, type Tier, type Programme } from './parts.js';

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

import { averageRuleSchema, changeRuleSchema, dropRuleSchema, timeBelowRuleSchema } from './trend-rules.js';
export { averageRuleSchema, changeRuleSchema, dropRuleSchema, timeBelowRuleSchema } from './trend-rules.js';

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
