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
  /** Back in range for this long (measurement time) resolves a warning by itself, or latches a critical. */
  resolveAfterMinutes: z.number().min(0).max(7 * 24 * 60).default(60),
  /**
   * A live alert notifies again when a reading is this much further past the line than its worst so far, as a
   * fraction of the line (0.1: 18 mmHg past a 180 mmHg line); null: only a worse tier notifies again.
   */
  renotifyStep: z.number().positive().nullable().default(0.1),
  /**
   * Other reading types this rule also reads, each with the rule's field names mapped to that reading's fields:
   * pulse rules read the pulse of a cuff (`blood_pressure.pulse`) and of an oximeter (`spo2.pulse`) too.
   */
  alsoReads: z.partialRecord(readingType, z.record(z.string(), z.string())).default({}),
});

/** No reading of a type for longer than the patient's plan expects (swept on a schedule). */
export const missingRuleSchema = z.object({
  ...common,
  kind: z.literal('missing'),
  readingType,
  where: whereSchema,
  maxGapHours: z.number().positive().max(24 * 90),
  /** Only for patients who have sent this kind of reading before (e.g. CGM: not every patient wears one). */
  requireHistory: z.boolean().default(false),
  /** A device's declared warm-up (a new CGM sensor) is not a gap: the count starts when it ends. */
  toleratesWarmUp: z.boolean().default(false),
  severity: severitySchema,
});

/** An event reading is an alert by itself (a fall). */
export const eventRuleSchema = z.object({
  ...common,
  kind: z.literal('event'),
  readingType,
  minConfidence: z.number().min(0).max(1).default(0),
  /** Events within this many minutes of the previous one are one burst (the same fall reported twice). */
  burstMinutes: z.number().min(0).max(24 * 60).default(10),
  severity: severitySchema,
});

/** A device's own state: battery low, offline for too long, or readings being rejected (swept on a schedule). */
export const deviceRuleSchema = z.object({
  ...common,
  kind: z.literal('device'),
  check: z.enum(['battery_low', 'offline', 'rejecting']),
  batteryBelow: z.number().min(0).max(100).default(15),
  offlineHours: z.number().positive().max(24 * 90).default(24),
  /** Data quality: at least this many readings rejected within `rejectedWindowHours`. */
  rejectedAtLeast: z.number().int().min(1).default(5),
  rejectedWindowHours: z.number().positive().max(24 * 7).default(6),
  severity: severitySchema,
});

import { dropRuleSchema, homeBpRuleSchema, timeBelowRuleSchema, weightGainRuleSchema } from './trend-rules.js';
import { adherenceBpRuleSchema } from './adherence-rule.js';
export type { DropRule, HomeBpRule, TimeBelowRule, WeightGainRule } from './trend-rules.js';
export type { AdherenceBpRule } from './adherence-rule.js';

export const ruleSchema = z.discriminatedUnion('kind', [
  thresholdRuleSchema,
  homeBpRuleSchema,
  weightGainRuleSchema,
  timeBelowRuleSchema,
  dropRuleSchema,
  adherenceBpRuleSchema,
  missingRuleSchema,
  eventRuleSchema,
  deviceRuleSchema,
]);
export type Rule = z.output<typeof ruleSchema>;
export type RuleInput = z.input<typeof ruleSchema>;
export type ThresholdRule = z.output<typeof thresholdRuleSchema>;
export type MissingRule = z.output<typeof missingRuleSchema>;
export type EventRule = z.output<typeof eventRuleSchema>;
export type DeviceRule = z.output<typeof deviceRuleSchema>;

/** What a rule reads is part of what it is: an override changes its values, never what it applies to. */
export const FIXED_RULE_KEYS = ['id', 'kind', 'readingType', 'where', 'alsoReads', 'check', 'medicationClass', 'source'] as const;

/** A per-patient change to a rule: any of its values, never its identity or what it reads. */
export const ruleOverrideSchema = z
  .record(z.string(), z.unknown())
  .refine((o) => FIXED_RULE_KEYS.every((k) => !(k in o)), `an override cannot change ${FIXED_RULE_KEYS.join(', ')}`);
export type RuleOverride = z.infer<typeof ruleOverrideSchema>;
