/**
 * The risk score's parts as data, each with its source (docs/reports.md lists them): the NEWS2 chart's bands for
 * the parameters a home programme measures.
 */

export const NEWS2_SOURCE = 'Royal College of Physicians. National Early Warning Score (NEWS) 2: Standardising the assessment of acute-illness severity in the NHS. London: RCP, 2017 (chart 1)';

export type RiskParameter = 'spo2' | 'pulse' | 'systolic' | 'temperature';

/**
 * One parameter's bands: `low` from the lowest up (a value at or below `max` scores `points`), `high` from the
 * highest down (at or above `min`), 0 between. The chart's bands are whole numbers (temperature to 0.1): a
 * device value with more decimals is rounded to the chart's precision first (SpO2 91.5 is 92, pulse 90.4 is 90).
 */
export interface RiskBands {
  readonly parameter: RiskParameter;
  readonly label: string;
  readonly unit: string;
  readonly low: readonly { readonly max: number; readonly points: number }[];
  readonly high: readonly { readonly min: number; readonly points: number }[];
}

/** NEWS2 chart 1. Respiration rate, consciousness and supplemental oxygen have no home reading in Vigil. */
export const RISK_BANDS: readonly RiskBands[] = [
  // SpO2 scale 1: <= 91: 3; 92-93: 2; 94-95: 1; >= 96: 0. (Scale 2 below, for a prescribed 88-92 % target.)
  { parameter: 'spo2', label: 'SpO2', unit: '%', low: [{ max: 91, points: 3 }, { max: 93, points: 2 }, { max: 95, points: 1 }], high: [] },
  // Pulse: <= 40: 3; 41-50: 1; 51-90: 0; 91-110: 1; 111-130: 2; >= 131: 3.
  { parameter: 'pulse', label: 'pulse', unit: '/min', low: [{ max: 40, points: 3 }, { max: 50, points: 1 }], high: [{ min: 131, points: 3 }, { min: 111, points: 2 }, { min: 91, points: 1 }] },
  // Systolic BP: <= 90: 3; 91-100: 2; 101-110: 1; 111-219: 0; >= 220: 3.
  { parameter: 'systolic', label: 'systolic BP', unit: 'mmHg', low: [{ max: 90, points: 3 }, { max: 100, points: 2 }, { max: 110, points: 1 }], high: [{ min: 220, points: 3 }] },
  // Temperature: <= 35.0: 3; 35.1-36.0: 1; 36.1-38.0: 0; 38.1-39.0: 1; >= 39.1: 2.
  { parameter: 'temperature', label: 'temperature', unit: '°C', low: [{ max: 35, points: 3 }, { max: 36, points: 1 }], high: [{ min: 39.1, points: 2 }, { min: 38.1, points: 1 }] },
];

/**
 * NEWS2 SpO2 scale 2, for a patient whose clinician set a target of 88-92 % (hypercapnic respiratory failure, the
 * `spo2.copd_target` preset): <= 83: 3; 84-85: 2; 86-87: 1; 88-92: 0; >= 93 on air: 0. Above 92 the chart scores
 * 1-3 only on oxygen (93-94: 1, 95-96: 2, >= 97: 3), which a home reading does not say: it is scored as on air,
 * so a patient on home oxygen above target is not scored for it (the SpO2 rules still apply).
 */
export const SPO2_SCALE_2: RiskBands = {
  parameter: 'spo2',
  label: 'SpO2 (scale 2)',
  unit: '%',
  low: [{ max: 83, points: 3 }, { max: 85, points: 2 }, { max: 87, points: 1 }],
  high: [],
};

/** The preset that sets a patient's SpO2 target to 88-92 %: their SpO2 is scored on scale 2. */
export const SCALE_2_PRESET = 'spo2.copd_target';

/**
 * A vital older than this is not scored: NEWS2 scores a set of observations taken together, and home readings
 * a day apart are already two moments. 24 h keeps a patient who measures once a day scored.
 */
export const RISK_MAX_AGE_HOURS = 24;

/** NEWS2 thresholds for the aggregate (RCP 2017, table 2), applied to the partial home score. */
export const RISK_BANDS_AGGREGATE = { medium: 5, high: 7 } as const;

/** Each live trend alert (weight gain, home BP average, time below range, activity drop) adds this (a Vigil choice). */
export const TREND_POINTS = 1;

/** The points a value scores on a parameter's bands. */
export function bandPoints(bands: RiskBands, value: number): number {
  const v = bands.parameter === 'temperature' ? Math.round(value * 10) / 10 : Math.round(value);
  for (const b of bands.low) if (v <= b.max) return b.points;
  for (const b of bands.high) if (v >= b.min) return b.points;
  return 0;
}
