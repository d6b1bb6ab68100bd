import { displayUnit, READING_CODES, type ReadingType } from '../../domain/index.js';
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
  // Loops rather than map/every: asked of every reading, and `holds` has no side effects to wait for.
  const all = tier.match === 'all';
  for (const c of tier.conditions) {
    if (holds(c, fields[c.field], shift) !== all) return !all;
  }
  return all;
}

/** What a rule's `value` field is, in words: a reading type with one main value. */
const VALUE_NAMES: Readonly<Record<ReadingType, string>> = {
  blood_pressure: 'blood pressure',
  glucose: 'glucose',
  weight: 'weight',
  spo2: 'SpO2',
  heart_rate: 'pulse',
  temperature: 'temperature',
  steps: 'steps',
  fall: 'fall',
};

/** "systolic" for a cuff's systolic, "SpO2" for an oximeter's `value`: the name of a field in a message. */
export function fieldName(type: ReadingType, field: string): string {
  return field === 'value' ? VALUE_NAMES[type] : field.replaceAll('_', ' ');
}

/** " mmHg", " %", " °C": the unit of a field as a person reads it, with its space, or "" where it has none. */
export function unitOf(type: ReadingType, field: string): string {
  const ucum = READING_CODES[type].fields[field]?.ucum;
  const unit = ucum ? displayUnit(ucum) : '';
  return unit ? ` ${unit}` : '';
}

/** A device's flags (1 = set) as words: "irregular 1 >= 1" says nothing to a nurse. */
const FLAG_TEXT: Readonly<Record<string, string>> = {
  irregular: 'irregular heartbeat flagged by the cuff',
  hi: 'meter reads HI (above its range)',
  lo: 'meter reads LO (below its range)',
};

/** "systolic 186 > 180 mmHg", "SpO2 85 < 88 %" for the conditions of a tier that hold, in the reading's units. */
export function describe(tier: Tier, fields: Readonly<Record<string, number>>, type: ReadingType): string {
  return tier.conditions
    .filter((c) => holds(c, fields[c.field]))
    .map((c) => FLAG_TEXT[c.field] ?? `${fieldName(type, c.field)} ${Math.round(fields[c.field]! * 10) / 10} ${SYMBOL[c.op]} ${c.value}${unitOf(type, c.field)}`)
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
