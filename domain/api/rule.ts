import { z } from 'zod';
import { READING_TYPES } from '../reading-types.js';
import { severitySchema } from './severity.js';

export const ruleConditionSchema = z.object({ field: z.string(), op: z.enum(['<', '<=', '>', '>=']), value: z.number() });

/**
 * A rule as it applies (a patient's, with overrides) or as the catalogue defines it. The fields every rule has
 * are listed; the values a kind adds (tiers, severity, a dry weight, gaps and windows) pass through unchanged,
 * as docs/alerts.md describes them, so that a new rule kind needs no change here.
 */
export const apiRuleSchema = z
  .looseObject({
    id: z.string(),
    title: z.string(),
    kind: z.string().describe('threshold, home_bp, weight_gain, time_below, drop, adherence_bp, missing, event or device'),
    enabled: z.boolean(),
    source: z.string().describe('the published source of the default values'),
    severity: severitySchema.optional(),
    tiers: z
      .array(z.object({ severity: severitySchema, match: z.enum(['any', 'all']), conditions: z.array(ruleConditionSchema).readonly() }))
      .readonly()
      .optional(),
    dryWeightKg: z.number().optional(),
  })
  .meta({ id: 'Rule' });
export type ApiRule = z.output<typeof apiRuleSchema>;

/** Where a patient's threshold rule fires, as a line on a chart of its reading type. */
export const thresholdLineSchema = z
  .object({
    readingType: z.enum(READING_TYPES),
    field: z.string(),
    op: z.string(),
    value: z.number(),
    severity: severitySchema,
    ruleId: z.string(),
    title: z.string(),
  })
  .meta({ id: 'ThresholdLine' });
export type ThresholdLine = z.output<typeof thresholdLineSchema>;

const overrideValues = z.record(z.string(), z.unknown()).describe("the rule's values this override changes");

/** A patient's change to a rule, with who made it, why, and until when. */
export const storedOverrideSchema = z
  .object({
    ruleId: z.string(),
    override: overrideValues,
    actor: z.string(),
    updatedAt: z.number(),
    reason: z.string().nullable(),
    expiresAt: z.number().nullable(),
    preset: z.string().nullable().describe('the named preset it came from, if any'),
  })
  .meta({ id: 'RuleOverride' });
export type StoredRuleOverride = z.output<typeof storedOverrideSchema>;

/** A bounded silence on one rule for one patient, up to a severity tier (never critical). */
export const snoozeSchema = z
  .object({
    ruleId: z.string(),
    until: z.number(),
    actor: z.string(),
    note: z.string().nullable(),
    createdAt: z.number(),
    tier: severitySchema.describe('the highest severity it silences; anything worse breaks through'),
  })
  .meta({ id: 'Snooze' });
export type Snooze = z.output<typeof snoozeSchema>;

/** A named, sourced override a clinician applies in one step. */
export const rulePresetSchema = z
  .object({ id: z.string(), ruleId: z.string(), title: z.string(), source: z.string(), override: overrideValues })
  .meta({ id: 'RulePreset' });
export type RulePreset = z.output<typeof rulePresetSchema>;

/** A guideline critical limit no override loosens (docs/alerts.md#safety-floors). */
export const safetyFloorSchema = z
  .object({
    ruleId: z.string(),
    critical: z.array(ruleConditionSchema).readonly().describe('for threshold rules: each line must stay covered by a critical tier at least as strict'),
    maxMinConfidence: z.number().optional().describe('for event rules: the confidence at or above which an event must stay critical'),
    maxBurstMinutes: z.number().optional().describe('for event rules: events further apart than this are separate events, and each one notifies'),
    source: z.string(),
  })
  .meta({ id: 'SafetyFloor' });
export type SafetyFloor = z.output<typeof safetyFloorSchema>;
