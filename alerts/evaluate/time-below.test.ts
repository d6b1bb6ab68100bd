import { describe, expect, it } from 'vitest';
import { PROGRAMME_RULE_SETS } from '../rules/catalogue.js';
import type { TimeBelowRule } from '../rules/trend-rules.js';
import type { Finding } from './finding.js';
import type { ObservedReading } from './threshold.js';
import { evaluateTimeBelow } from './time-below.js';

const T = Date.parse('2026-11-22T08:00:00Z');
const rule = PROGRAMME_RULE_SETS.diabetes.find((r) => r.id === 'cgm.time_below_range') as TimeBelowRule;

/** `total` CGM readings over the last 20 h, the first `low` of them at 65 mg/dL. */
const cgm = (low: number, total = 100, source = 'cgm'): ObservedReading[] =>
  Array.from({ length: total }, (_, i) => ({ time: T - i * 12 * 60_000, fields: { value: i < low ? 65 : 120 }, tags: { source } }));
const verdict = (f: Finding | undefined) => (f === undefined ? 'none' : f.severity ?? (f.band ? 'band' : 'clear'));

describe('CGM time below 70 mg/dL (Battelino 2019: < 4 %)', () => {
  it.each<[string, string, ObservedReading[]]>([
    ['5 % below', 'warning', cgm(5)],
    ['4 %: at the target, inside the 1-point clear margin', 'band', cgm(4)],
    ['3 %: a point under the target', 'clear', cgm(3)],
    ['too few readings for 24 h', 'none', cgm(5, 40)],
    ['meter readings are not CGM', 'none', cgm(5, 100, 'meter')],
    ['readings older than 24 h do not count', 'clear', [...cgm(0), ...Array.from({ length: 20 }, (_, i) => ({ time: T - (25 + i) * 3_600_000, fields: { value: 50 }, tags: { source: 'cgm' } }))]],
  ])('%s -> %s', (_, expected, history) => {
    expect(verdict(evaluateTimeBelow(rule, history, T))).toBe(expected);
  });

  it('reports the share in percent and the number of readings', () => {
    expect(evaluateTimeBelow(rule, cgm(5), T)).toMatchObject({ values: { share: 5, readings: 100 }, observedAt: T });
  });
});
