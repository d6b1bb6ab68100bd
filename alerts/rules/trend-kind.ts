import { findRule } from './catalogue.js';
import { TREND_KINDS } from './trend-rules.js';

/** Whether a rule judges a window of history (weight gain, home BP average, time below range, activity drop). */
export function isTrendRule(ruleId: string): boolean {
  const kind = findRule(ruleId)?.kind;
  return kind !== undefined && (TREND_KINDS as readonly string[]).includes(kind);
}
