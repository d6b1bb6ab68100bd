import { severityRank, type ThresholdRule } from '../rules/schema.js';
import { describe, exceedance, tierHolds } from './conditions.js';
import type { Finding } from './finding.js';

export interface ObservedReading {
  readonly time: number;
  readonly fields: Readonly<Record<string, number>>;
  readonly tags: Readonly<Record<string, string>>;
}

export function matchesWhere(where: Readonly<Record<string, string>>, tags: Readonly<Record<string, string>>): boolean {
  return Object.entries(where).every(([k, v]) => tags[k] === v);
}

/** A single reading against a threshold rule: the highest tier that holds, clear, or nothing (hysteresis band). */
export function evaluateThreshold(rule: ThresholdRule, reading: ObservedReading): Finding | undefined {
  if (!matchesWhere(rule.where, reading.tags)) return undefined;
  const tiers = [...rule.tiers].sort((a, b) => severityRank(b.severity) - severityRank(a.severity));
  const base = { ruleId: rule.id, subject: '', observedAt: reading.time, values: reading.fields };
  for (const tier of tiers) {
    if (tierHolds(tier, reading.fields)) {
      return { ...base, severity: tier.severity, message: `${rule.title}: ${describe(tier, reading.fields)}`, score: exceedance(tier, reading.fields) };
    }
  }
  const nearLine = tiers.some((tier) => tierHolds(tier, reading.fields, rule.clearMargin));
  if (nearLine) return undefined;
  return { ...base, severity: null, message: `${rule.title}: back in range`, score: 0 };
}
