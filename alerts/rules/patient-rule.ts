import { VigilError } from '../../domain/index.js';
import { findRule } from './catalogue.js';
import { applyOverride } from './effective.js';
import type { Rule, RuleOverride } from './schema.js';

/**
 * One rule as it applies to one patient, for a report that reads its lines (the home BP line, the weight-gain
 * windows and dry weight): the catalogue rule with the patient's override in force applied through the same
 * validation and safety floors as the alert uses. An override the floors or the schema refuse is not applied
 * (the default, the safe side), as in `effectiveRules`. A rule the team disabled keeps its lines here: the
 * report still measures against them, it only raises no alert.
 */
export function patientRule(ruleId: string, overrides: readonly { readonly ruleId: string; readonly override: RuleOverride }[]): Rule | undefined {
  const rule = findRule(ruleId);
  if (!rule) return undefined;
  const override = overrides.find((o) => o.ruleId === ruleId)?.override;
  if (!override) return rule;
  try {
    return applyOverride(rule, override);
  } catch (err) {
    if (!(err instanceof VigilError)) throw err;
    return rule;
  }
}
