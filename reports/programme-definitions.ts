/**
 * The programme report's definitions as data, each with its source (docs/reports.md lists them).
 */

/** CMS bills remote physiologic monitoring device supply per 30 days. */
export const PROGRAMME_PERIOD_DAYS = 30;

export const CMS_2026_SOURCE =
  'CMS, Medicare and Medicaid Programs; CY 2026 Payment Policies under the Physician Fee Schedule, final rule (CMS-1832-F, 2025): ' +
  'RPM device supply CPT 99454 for 16-30 days of data in 30 days, and 99445 (new for 2026) for 2-15 days';

/** A device-supply code and the days of data in a 30-day period it needs, inclusive. */
export interface DeviceSupplyCode {
  readonly code: '99454' | '99445';
  readonly minDays: number;
  readonly maxDays: number;
}

/** CMS CY 2026 PFS final rule: 99454 for 16-30 days; 99445 for 2-15 days (the two never for the same period). */
export const DEVICE_SUPPLY_CODES: readonly DeviceSupplyCode[] = [
  { code: '99454', minDays: 16, maxDays: PROGRAMME_PERIOD_DAYS },
  { code: '99445', minDays: 2, maxDays: 15 },
];

/** The code the days of data reach, or null below 2 days. */
export function deviceSupplyCode(days: number): DeviceSupplyCode['code'] | null {
  return DEVICE_SUPPLY_CODES.find((c) => days >= c.minDays && days <= c.maxDays)?.code ?? null;
}

/** Who is not a person: the alert engine resolves alerts as "vigil" when they are back in range. */
export const SYSTEM_ACTOR = 'vigil';
