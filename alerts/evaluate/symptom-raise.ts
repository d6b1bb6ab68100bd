import type { TrendRule } from './trends.js';
import type { Finding } from './finding.js';

const HOUR = 3_600_000;

/**
 * Heart-failure weight gain together with breathing worse than usual (or a new need to sleep propped up), as the
 * patient reported it in a check-in, raises the weight-gain alert from warning to critical. Weight gain from fluid
 * plus worsening breathlessness is congestion (ESC 2021 HF guideline, McDonagh et al., Eur Heart J 2021;42:3599,
 * definition of worsening HF; HFSA/AHA self-care advice: call the care team the same day for weight gain with
 * more shortness of breath). Documented in docs/alerts.md "Check-in symptoms".
 */
export const SYMPTOM_RAISE = {
  ruleKind: 'weight_gain',
  /** A report this long before the weight, or any time after it, counts as "together" with the gain. */
  beforeWeightHours: 72,
  from: 'warning',
  to: 'critical',
} as const;

/** When the patient last reported worse breathing in [from, to), if they did (the care loop's check-ins). */
export type SymptomReports = (patientId: string, from: number, to: number) => number | undefined;

/** Where the symptom window for a finding starts. */
export function symptomWindowFrom(finding: Finding): number {
  return finding.observedAt - SYMPTOM_RAISE.beforeWeightHours * HOUR;
}

/**
 * The finding raised by a reported symptom (`worseBreathing`: when it was last reported, if it was), or unchanged. Only ever raises: a finding that is not the warning
 * tier (clear, in the band, or critical already) is returned as it is, so an answer can never silence, lower or
 * resolve an alert, and with no weight finding there is nothing for an answer to raise.
 */
export function raiseBySymptoms(rule: TrendRule, finding: Finding | undefined, worseBreathing: () => number | undefined): Finding | undefined {
  if (!finding || rule.kind !== SYMPTOM_RAISE.ruleKind || finding.severity !== SYMPTOM_RAISE.from) return finding;
  // Asked only here: one look at the answers per weight-gain warning, not per trend finding.
  const worseBreathingAt = worseBreathing();
  if (worseBreathingAt === undefined) return finding;
  return {
    ...finding,
    severity: SYMPTOM_RAISE.to,
    values: { ...finding.values, worseBreathingAt },
    message: `${finding.message}, with breathing worse than usual reported in a check-in`,
  };
}
