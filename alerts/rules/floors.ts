import { VigilError, type SafetyFloor as SafetyFloorShape } from '../../domain/index.js';
import type { Condition } from './parts.js';
import type { Rule } from './schema.js';

/**
 * A guideline critical limit: readings past any of these lines must raise a critical alert, whatever a
 * patient's overrides say. Overrides may tighten a floor (alert earlier) or add tiers; never loosen or remove it.
 */
export type SafetyFloor = Readonly<SafetyFloorShape>;

export const SAFETY_FLOORS: readonly SafetyFloor[] = [
  {
    ruleId: 'bp.crisis',
    critical: [
      { field: 'systolic', op: '>', value: 180 },
      { field: 'diastolic', op: '>', value: 120 },
    ],
    source: 'ACC/AHA 2017 guideline (AHA 2025 update): > 180 and/or > 120 mmHg is a hypertensive crisis',
  },
  {
    ruleId: 'glucose.low',
    critical: [
      { field: 'value', op: '<', value: 54 },
      { field: 'lo', op: '>=', value: 1 },
    ],
    source: 'ADA Standards of Care 2025, section 6: level 2 hypoglycaemia < 54 mg/dL; a meter LO reading is below its range',
  },
  {
    ruleId: 'glucose.high',
    critical: [
      { field: 'value', op: '>=', value: 600 },
      { field: 'hi', op: '>=', value: 1 },
    ],
    source: 'ADA consensus report on hyperglycaemic crises (Umpierrez et al., Diabetes Care 2024): hyperosmolar state at >= 600 mg/dL; a meter HI reading is above its range',
  },
  {
    ruleId: 'spo2.low',
    critical: [{ field: 'value', op: '<=', value: 83 }],
    source: 'NEWS2 (RCP 2017) SpO2 scale 2, for patients with a clinician-set target of 88-92 %: <= 83 % scores 3, the lowest line any target allows',
  },
  {
    ruleId: 'fall.detected',
    critical: [],
    maxMinConfidence: 0.5,
    maxBurstMinutes: 10,
    source: 'A fall event from a wearable is urgent until acknowledged (clinical reference, falls)',
  },
];

const FLOORS = new Map(SAFETY_FLOORS.map((f) => [f.ruleId, f]));

/** A floor rule's alert re-notifies a person at least this far further past its line (0.1: 18 mmHg past 180). */
export const MAX_FLOOR_RENOTIFY_STEP = 0.1;

/** Whether `candidate` fires on every value `floor` fires on (same field, same direction, a line at least as strict). */
export function covers(candidate: Condition, floor: Condition): boolean {
  if (candidate.field !== floor.field) return false;
  const up = (op: Condition['op']) => op === '>' || op === '>=';
  if (up(candidate.op) !== up(floor.op)) return false;
  if (candidate.value === floor.value) return candidate.op === floor.op || candidate.op.length === 2;
  return up(floor.op) ? candidate.value < floor.value : candidate.value > floor.value;
}

function describe(c: Condition): string {
  return `${c.field} ${c.op} ${c.value}`;
}

/** Throws VIGIL_ERR_SAFETY_FLOOR, saying which guideline line would be lost, if `rule` loosens its floor. */
export function assertWithinFloor(rule: Rule): void {
  const floor = FLOORS.get(rule.id);
  if (!floor) return;
  const refuse = (what: string) => {
    throw new VigilError('VIGIL_ERR_SAFETY_FLOOR', `${rule.id}: ${what} is a safety floor (${floor.source}); an override may tighten it, never loosen or remove it`);
  };
  if (!rule.enabled) refuse('the rule');
  if (rule.kind === 'event') {
    if (rule.severity !== 'critical') refuse('its critical severity');
    if (floor.maxMinConfidence !== undefined && rule.minConfidence > floor.maxMinConfidence) refuse(`a minimum confidence of ${floor.maxMinConfidence}`);
    if (floor.maxBurstMinutes !== undefined && rule.burstMinutes > floor.maxBurstMinutes) refuse(`a new event after ${floor.maxBurstMinutes} min notifying on its own`);
    return;
  }
  if (rule.kind !== 'threshold') return;
  if (rule.renotifyStep === null || rule.renotifyStep > MAX_FLOOR_RENOTIFY_STEP) refuse(`re-notification at ${MAX_FLOOR_RENOTIFY_STEP} of the line further past it`);
  // A condition only stands alone in a tier that fires on any one of its conditions (or has just the one).
  const standalone = rule.tiers.filter((t) => t.severity === 'critical' && (t.match === 'any' || t.conditions.length === 1)).flatMap((t) => t.conditions);
  for (const line of floor.critical) {
    if (!standalone.some((c) => covers(c, line))) refuse(`the critical line ${describe(line)}`);
  }
}
