import { VigilError } from '../../domain/index.js';
import { DEFAULT_RULE_SET, PROGRAMME_RULE_SETS } from './catalogue.js';
import { assertWithinFloor } from './floors.js';
import { ruleSchema, type Programme, type Rule, type RuleOverride } from './schema.js';

/**
 * Applies an override to a rule and validates the result as a whole rule, then against the rule's safety
 * floor: an override may move a line within bounds, never disable or loosen a guideline critical limit.
 */
export function applyOverride(rule: Rule, override: RuleOverride): Rule {
  const merged = ruleSchema.safeParse({ ...rule, ...override, id: rule.id, kind: rule.kind });
  if (!merged.success) {
    const issue = merged.error.issues[0];
    throw new VigilError('VIGIL_ERR_CONFIG', `override of ${rule.id} is invalid: ${issue?.path.join('.')}: ${issue?.message}`);
  }
  assertWithinFloor(merged.data);
  return merged.data;
}

/** The rules of the defaults and of each programme, before any patient's own overrides. */
export function baseRules(programmes: readonly Programme[]): Map<string, Rule> {
  const byId = new Map<string, Rule>();
  for (const rule of DEFAULT_RULE_SET) byId.set(rule.id, rule);
  for (const programme of programmes) {
    for (const rule of PROGRAMME_RULE_SETS[programme]) byId.set(rule.id, rule);
  }
  return byId;
}

/**
 * The rules that apply to a patient: the defaults, plus the rules of each programme they are enrolled in, then
 * the patient's own overrides. Disabled rules are left out. An override stored before a safety floor existed
 * (or one the current schema refuses) is not applied: the patient keeps the default, the safe side. Keys a rule
 * does not have are ignored here, as they always were: an override stored before they were refused at
 * `setOverride` keeps applying the values it names correctly rather than reverting the patient to the default
 * at an upgrade.
 */
export function effectiveRules(programmes: readonly Programme[], patientOverrides: ReadonlyMap<string, RuleOverride>): Rule[] {
  const byId = baseRules(programmes);
  for (const [id, override] of patientOverrides) {
    const rule = byId.get(id);
    if (!rule) continue;
    try {
      byId.set(id, applyOverride(rule, override));
    } catch (err) {
      if (!(err instanceof VigilError)) throw err;
    }
  }
  return [...byId.values()].filter((r) => r.enabled);
}
