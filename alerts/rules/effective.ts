import { VigilError } from '../../domain/index.js';
import { DEFAULT_RULE_SET, PROGRAMME_RULE_OVERRIDES, PROGRAMME_RULE_SETS } from './catalogue.js';
import { ruleSchema, type Programme, type Rule, type RuleOverride } from './schema.js';

/** Applies an override to a rule and validates the result as a whole rule. */
export function applyOverride(rule: Rule, override: RuleOverride): Rule {
  const merged = ruleSchema.safeParse({ ...rule, ...override, id: rule.id, kind: rule.kind });
  if (!merged.success) {
    const issue = merged.error.issues[0];
    throw new VigilError('VIGIL_ERR_CONFIG', `override of ${rule.id} is invalid: ${issue?.path.join('.')}: ${issue?.message}`);
  }
  return merged.data;
}

/**
 * The rules that apply to a patient: the defaults, plus the rules of each programme they are enrolled in,
 * with programme overrides, then the patient's own overrides. Disabled rules are left out.
 */
export function effectiveRules(programmes: readonly Programme[], patientOverrides: ReadonlyMap<string, RuleOverride>): Rule[] {
  const byId = new Map<string, Rule>();
  for (const rule of DEFAULT_RULE_SET) byId.set(rule.id, rule);
  for (const programme of programmes) {
    for (const rule of PROGRAMME_RULE_SETS[programme]) byId.set(rule.id, rule);
  }
  for (const programme of programmes) {
    for (const [id, override] of Object.entries(PROGRAMME_RULE_OVERRIDES[programme])) {
      const rule = byId.get(id);
      if (rule) byId.set(id, applyOverride(rule, override));
    }
  }
  for (const [id, override] of patientOverrides) {
    const rule = byId.get(id);
    if (rule) byId.set(id, applyOverride(rule, override));
  }
  return [...byId.values()].filter((r) => r.enabled);
}
