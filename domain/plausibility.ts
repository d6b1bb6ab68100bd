/**
 * Plausibility ranges, in stored units, from docs/clinical-reference.md "Plausibility". A value outside them is a
 * device or entry error and is rejected, never treated as a clinical event.
 */
export interface Range {
  readonly min: number;
  readonly max: number;
}

export const PLAUSIBLE = {
  systolic: { min: 40, max: 300 },
  diastolic: { min: 20, max: 200 },
  pulse: { min: 20, max: 300 },
  glucoseMgDl: { min: 10, max: 1000 },
  weightKg: { min: 1, max: 400 },
  spo2: { min: 50, max: 100 },
  temperatureCel: { min: 25, max: 45 },
  /** Steps per minute of the counting period. */
  stepsPerMinute: { min: 0, max: 1000 },
  fallConfidence: { min: 0, max: 1 },
} as const satisfies Record<string, Range>;

export function inRange(value: number, range: Range): boolean {
  return value >= range.min && value <= range.max;
}
