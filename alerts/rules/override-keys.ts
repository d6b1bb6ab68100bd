import { VigilError } from '../../domain/index.js';
import { FIXED_RULE_KEYS, ruleSchema, type Rule, type RuleOverride } from './schema.js';

/** The value names of each kind of rule, read from its schema so that a new value needs no second list. */
const KEYS_BY_KIND: ReadonlyMap<string, ReadonlySet<string>> = new Map(ruleSchema.options.map((kind) => [kind.shape.kind.value, new Set(Object.keys(kind.shape))]));

/**
 * Refuses an override that names a value its rule does not have. Validating the merged rule cannot catch that:
 * the rule's schema drops unknown keys, so a misspelled `dryWeightKG` was stored and listed with its reason
 * while the line it meant to move stayed where it was. Checked where an override is set (the API, the CLI, a
 * simulation), not where stored ones are loaded: see `effectiveRules`.
 */
export function assertKnownOverrideKeys(rule: Rule, override: RuleOverride): void {
  const known = KEYS_BY_KIND.get(rule.kind);
  if (!known) throw new Error(`no schema for rule kind ${rule.kind}`);
  const unknown = Object.keys(override).filter((key) => !known.has(key));
  if (unknown.length === 0) return;
  const fixed: readonly string[] = FIXED_RULE_KEYS;
  const values = [...known].filter((key) => !fixed.includes(key)).join(', ');
  throw new VigilError('VIGIL_ERR_CONFIG', `override of ${rule.id} has unknown ${unknown.length === 1 ? 'key' : 'keys'} ${unknown.join(', ')}: the values of a ${rule.kind} rule are ${values}`);
}
