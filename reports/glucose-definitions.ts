import type { ValueRange } from '../ingest/index.js';

/**
 * The glucose report's definitions as data, each with its published source (docs/reports.md lists them).
 * Glucose in mg/dL, as the store keeps it.
 */

export const TIME_IN_RANGE_SOURCE = 'International Consensus on Time in Range (Battelino T et al., Diabetes Care 2019;42(8):1593-1603)';
export const GMI_SOURCE = 'Glucose Management Indicator (Bergenstal RM et al., Diabetes Care 2018;41(11):2275-2280)';

export type GlucoseRangeId = 'very_low' | 'low' | 'in_range' | 'high' | 'very_high';

/**
 * Battelino 2019, table 1: < 54 (level 2 hypo), 54-69 (level 1), 70-180 (in range), 181-250 (level 1 hyper),
 * > 250 (level 2). Readings may have decimals (a mmol/L device converted), so the bands meet without gaps:
 * 69.5 is "low", 180.5 is "high".
 */
export const GLUCOSE_RANGES: readonly { readonly id: GlucoseRangeId; readonly label: string; readonly range: ValueRange }[] = [
  { id: 'very_low', label: '< 54 mg/dL', range: { lt: 54 } },
  { id: 'low', label: '54-69 mg/dL', range: { gte: 54, lt: 70 } },
  { id: 'in_range', label: '70-180 mg/dL', range: { gte: 70, lte: 180 } },
  { id: 'high', label: '181-250 mg/dL', range: { gt: 180, lte: 250 } },
  { id: 'very_high', label: '> 250 mg/dL', range: { gt: 250 } },
];

/** A consensus target: the share of readings in some of the bands against a limit, in percent. */
export interface RangeTarget {
  readonly id: string;
  readonly label: string;
  readonly bands: readonly GlucoseRangeId[];
  readonly op: '<' | '>';
  readonly limit: number;
}

/** Battelino 2019, table 2 (most adults with type 1 or type 2 diabetes). */
export const RANGE_TARGETS: readonly RangeTarget[] = [
  { id: 'tir', label: 'Time in range 70-180 mg/dL', bands: ['in_range'], op: '>', limit: 70 },
  { id: 'tbr_70', label: 'Time below 70 mg/dL', bands: ['very_low', 'low'], op: '<', limit: 4 },
  { id: 'tbr_54', label: 'Time below 54 mg/dL', bands: ['very_low'], op: '<', limit: 1 },
  { id: 'tar_180', label: 'Time above 180 mg/dL', bands: ['high', 'very_high'], op: '<', limit: 25 },
  { id: 'tar_250', label: 'Time above 250 mg/dL', bands: ['very_high'], op: '<', limit: 5 },
];

/** Battelino 2019: glycaemic variability, %CV = SD / mean; stable at or below 36 %. */
export const CV_TARGET = { limit: 36, op: '<=' as const };

/** Battelino 2019: a CGM report describes glycaemia when the sensor was worn at least 70 % of 14 days. */
export const WEAR_TARGET = { limit: 70, op: '>=' as const, days: 14 };

/** The interval most CGMs report at (Dexcom G6/G7, Libre 2/3 streaming), used until the readings show another. */
export const DEFAULT_CGM_INTERVAL_MINUTES = 5;

/** Bergenstal 2018: GMI (%) = 3.31 + 0.02392 x mean glucose (mg/dL). */
export function gmiPercent(meanMgdl: number): number {
  return 3.31 + 0.02392 * meanMgdl;
}
