import { describe, expect, it } from 'vitest';
import { addDays, startOfLocalDay } from '../../domain/index.js';
import { PROGRAMME_RULE_SETS } from '../rules/catalogue.js';
import { applyOverride } from '../rules/effective.js';
import type { WeightGainRule } from '../rules/trend-rules.js';
import type { Finding } from './finding.js';
import type { ObservedReading } from './threshold.js';
import { evaluateWeightGain } from './weight-gain.js';

const HOUR = 3_600_000;
const TZ = 'America/New_York';
const TODAY = '2026-11-22';
const rule = PROGRAMME_RULE_SETS.heart_failure.find((r) => r.id === 'weight.gain') as WeightGainRule;
const withDryWeight = (kg: number) => applyOverride(rule, { dryWeightKg: kg }) as WeightGainRule;

const at = (date: string, hours: number) => startOfLocalDay(date, TZ) + hours * HOUR;
const kg = (time: number, value: number): ObservedReading => ({ time, fields: { value }, tags: {} });
/** Morning weights at 07:00 on consecutive days ending today (null: no weight that day). */
const mornings = (values: (number | null)[]) =>
  values.flatMap((v, i) => (v === null ? [] : [kg(at(addDays(TODAY, i - values.length + 1), 7), v)]));
const flat = (days: number, value: number) => Array<number>(days).fill(value);

const verdict = (f: Finding | undefined) => (f === undefined ? 'none' : f.severity ?? (f.band ? 'band' : 'clear'));
const NOW = at(TODAY, 20);

describe('heart-failure weight gain (HFSA/AHA, ESC 2021)', () => {
  it.each<[string, string, ObservedReading[], WeightGainRule?]>([
    ['+1.0 kg in 1 day', 'warning', mornings([80, 81])],
    ['+0.9 kg in 1 day: at the limit, within the clear margin', 'clear', mornings([80, 80.9])],
    ['+2.1 kg in 3 days', 'warning', mornings([80, 80.6, 81.4, 82.1])],
    ['+2.6 kg over six days (+0.43 kg a day)', 'warning', mornings([80, 80.43, 80.87, 81.3, 81.73, 82.17, 82.6])],
    ['against the lowest of the window, not its first day', 'warning', mornings([81, 79.5, 80.5, 81.6])],
    ['only today', 'none', mornings([82])],
    ['no morning weight today (an evening one)', 'none', [...mornings([80, null]), kg(at(TODAY, 19), 83)]],
    ['days without a weight do not count', 'clear', mornings([80, null, null, 80.5])],
    ['a weight after midnight is not a morning weight', 'warning', [...mornings([80, null]), kg(at(TODAY, 1.5), 78), kg(at(TODAY, 7), 81)]],
    ['the first morning weight of the day counts', 'warning', [...mornings([80, null]), kg(at(TODAY, 7), 81), kg(at(TODAY, 9), 80)]],
    ['a gain that levelled off: still above the baseline', 'band', mornings([...flat(14, 80), ...flat(8, 82.6)])],
    ['back within 0.9 kg of the baseline', 'clear', mornings([...flat(14, 80), ...flat(7, 82.6), 80.8])],
    ['more than 2.3 kg above the dry weight', 'warning', mornings([80, 80, 80, 80.4]), withDryWeight(78)],
    ['no gain, 1.5 kg above the dry weight', 'band', mornings([79.5, 79.5]), withDryWeight(78)],
    ['no gain, within 0.9 kg of the dry weight', 'clear', mornings([78.5, 78.5]), withDryWeight(78)],
    ['the dry weight alone is a baseline', 'warning', mornings([81]), withDryWeight(78)],
  ])('%s -> %s', (_, expected, history, r = rule) => {
    expect(verdict(evaluateWeightGain(r, history, NOW, TZ))).toBe(expected);
  });

  it('reports the worst window, the baseline and the time of the morning weight', () => {
    const f = evaluateWeightGain(rule, mornings([...flat(14, 80), 80, 80.43, 80.87, 81.3, 81.73, 82.17, 82.6]), NOW, TZ);
    expect(f).toMatchObject({ severity: 'warning', observedAt: at(TODAY, 7), values: { weight: 82.6, baseline: 80, rise: 2.6, limit: 2.3, days: 7 } });
    expect(f?.message).toMatch(/\+2.6 kg over 7 days \(limit 2.3 kg\)/);
    expect(evaluateWeightGain(withDryWeight(78), mornings([81]), NOW, TZ)?.message).toMatch(/over the dry weight/);
  });

  it('judges the morning on the local clock (America/New_York, not UTC)', () => {
    const history = [kg(Date.parse('2026-11-21T12:00:00Z'), 80), kg(Date.parse('2026-11-22T16:30:00Z'), 81.2)]; // 07:00 and 11:30 EST
    expect(evaluateWeightGain(rule, history, Date.parse('2026-11-22T16:30:00Z'), TZ)?.severity).toBe('warning');
    expect(evaluateWeightGain(rule, history, Date.parse('2026-11-22T16:30:00Z'), 'UTC')).toBeUndefined(); // 16:30 UTC is afternoon
  });

  it('counts days across the November clock change (a 25-hour day)', () => {
    // 2026-11-01 has 25 hours in New York; 07:00 EDT on 10-31 and 07:00 EST on 11-01 are 25 h apart.
    const history = [kg(Date.parse('2026-10-31T07:00:00-04:00'), 80), kg(Date.parse('2026-11-01T07:00:00-05:00'), 81)];
    expect(evaluateWeightGain(rule, history, Date.parse('2026-11-01T07:00:00-05:00'), TZ)).toMatchObject({ severity: 'warning', values: { days: 1 } });
  });
});
