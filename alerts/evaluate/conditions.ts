import type { Condition, Tier } from '../rules/schema.js';

const SYMBOL = { '<': '<', '<=': '<=', '>': '>', '>=': '>=' } as const;

export function holds(c: Condition, value: number | undefined, shift = 0): boolean {
  if (value === undefined || !Number.isFinite(value)) return false;
  // A positive shift moves the line towards the safe side (hysteresis): `>` 180 with shift 10 becomes `>` 170.
  switch (c.op) {
    case '>':
      return value > c.value - shift;
    case '>=':
      return value >= c.value - shift;
    case '<':
      return value < c.value + shift;
    case '<=':
      return value <= c.value + shift;
  }
}

export function tierHolds(tier: Tier, fields: Readonly<Record<string, number>>, shift = 0): boolean {
  const results = tier.conditions.map((c) => holds(c, fields[c.field], shift));
  return tier.match === 'all' ? results.every(Boolean) : results.some(Boolean);
}

/** "systolic 186 > 180" for the conditions of a tier that hold. */
export function describe(tier: Tier, fields: Readonly<Record<string, number>>): string {
  return tier.conditions
    .filter((c) => holds(c, fields[c.field]))
    .map((c) => `${c.field} ${Math.round(fields[c.field]! * 10) / 10} ${SYMBOL[c.op]} ${c.value}`)
    .join(tier.match === 'all' ? ' and ' : ', ');
}

/** Distance past the line, relative to the line, of the conditions that hold (0 when none does). */
export function exceedance(tier: Tier, fields: Readonly<Record<string, number>>): number {
  return Math.max(
    0,
    ...tier.conditions
      .filter((c) => holds(c, fields[c.field]))
      .map((c) => Math.abs(fields[c.field]! - c.value) / Math.max(1, Math.abs(c.value))),
  );
}
