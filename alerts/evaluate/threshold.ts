import type { ReadingType } from '../../domain/index.js';
import { severityRank, type ThresholdRule } from '../rules/schema.js';
import { describe, exceedance, tierHolds } from './conditions.js';
import type { Finding } from './finding.js';

export interface ObservedReading {
  readonly time: number;
  readonly fields: Readonly<Record<string, number>>;
  readonly tags: Readonly<Record<string, string>>;
}

export function matchesWhere(where: Readonly<Record<string, string>>, tags: Readonly<Record<string, string>>): boolean {
  // No entries array per call: asked of every reading for every threshold rule that reads its type.
  for (const k of Object.keys(where)) if (tags[k] !== where[k]) return false;
  return true;
}

/** Whether a threshold rule reads readings of this type (its own, or one it also reads, such as a cuff's pulse). */
export function thresholdReads(rule: ThresholdRule, type: ReadingType): boolean {
  return rule.readingType === type || rule.alsoReads[type] !== undefined;
}

/** The reading's fields under the rule's names: a cuff's `pulse` becomes the pulse rule's `value`. */
function fieldsFor(rule: ThresholdRule, type: ReadingType, fields: Readonly<Record<string, number>>): Readonly<Record<string, number>> {
  const mapping = type === rule.readingType ? undefined : rule.alsoReads[type];
  if (!mapping) return fields;
  const mapped: Record<string, number> = {};
  for (const [ruleField, readingField] of Object.entries(mapping)) {
    const value = fields[readingField];
    if (value !== undefined) mapped[ruleField] = value;
  }
  return mapped;
}

/**
 * Whether any tier of the rule holds for this reading: the cheap question asked of every reading first, since
 * most readings are normal and most patients have no live alert to clear (no finding, no message built).
 */
export function thresholdAbnormal(rule: ThresholdRule, reading: ObservedReading & { readonly type?: ReadingType }): boolean {
  if (!matchesWhere(rule.where, reading.tags)) return false;
  const fields = fieldsFor(rule, reading.type ?? rule.readingType, reading.fields);
  for (const tier of rule.tiers) if (tierHolds(tier, fields)) return true;
  return false;
}

/**
 * A single reading against a threshold rule: the highest tier that holds, clear, inside the hysteresis band,
 * or nothing at all when the reading carries none of the fields the rule looks at (a cuff reading without a
 * pulse says nothing about the pulse, and must not resolve a pulse alert).
 */
export function evaluateThreshold(rule: ThresholdRule, reading: ObservedReading & { readonly type?: ReadingType }): Finding | undefined {
  if (!matchesWhere(rule.where, reading.tags)) return undefined;
  const fields = fieldsFor(rule, reading.type ?? rule.readingType, reading.fields);
  if (!rule.tiers.some((t) => t.conditions.some((c) => fields[c.field] !== undefined))) return undefined;
  const tiers = [...rule.tiers].sort((a, b) => severityRank(b.severity) - severityRank(a.severity));
  const base = { ruleId: rule.id, subject: '', observedAt: reading.time, values: fields };
  for (const tier of tiers) {
    if (tierHolds(tier, fields)) {
      return { ...base, severity: tier.severity, message: `${rule.title}: ${describe(tier, fields, rule.readingType)}`, score: exceedance(tier, fields) };
    }
  }
  const band = tiers.some((tier) => tierHolds(tier, fields, rule.clearMargin));
  if (band) return { ...base, severity: null, band: true, message: `${rule.title}: near the line`, score: 0 };
  return { ...base, severity: null, message: `${rule.title}: back in range`, score: 0 };
}
