import { describe, expect, it } from 'vitest';
import { normaliseReading, wireReadingSchema, type WireReadingInput } from '../../domain/index.js';
import { DEFAULT_RULE_SET, PROGRAMME_RULE_SETS } from '../rules/catalogue.js';
import { applyOverride, effectiveRules } from '../rules/effective.js';
import { findPreset } from '../rules/presets.js';
import type { Rule, ThresholdRule } from '../rules/schema.js';
import { evaluateDevice, evaluateMissing } from './sweep-rules.js';
import { evaluateThreshold, type ObservedReading } from './threshold.js';
import { evaluateTrend, type TrendRule } from './trends.js';

const T = Date.parse('2026-11-22T08:00:00Z');
const HOUR = 3_600_000;
const DAY = 24 * HOUR;

function rule<K extends Rule['kind']>(id: string, rules: readonly Rule[] = [...DEFAULT_RULE_SET, ...Object.values(PROGRAMME_RULE_SETS).flat()]) {
  const found = rules.find((r) => r.id === id);
  if (!found) throw new Error(`no rule ${id}`);
  return found as Extract<Rule, { kind: K }>;
}

/** A wire reading through the real normaliser, as the engine sees it. */
type WithoutTime<T> = T extends unknown ? Omit<T, 'time'> & { time?: string } : never;

function observed(input: WithoutTime<WireReadingInput>): ObservedReading {
  const wire = wireReadingSchema.parse({ time: new Date(T).toISOString(), ...input });
  const result = normaliseReading(wire, { deviceId: 'd', patientId: 'p', receivedAt: T, futureToleranceMs: 300_000, maxAgeMs: 365 * DAY, lateAfterMs: 900_000 });
  if (!result.ok) throw new Error(result.message);
  return result.reading;
}

function severity(r: ThresholdRule, input: Parameters<typeof observed>[0]): string {
  const f = evaluateThreshold(r, observed(input));
  return f === undefined ? 'nothing' : f.band ? 'band' : f.severity === null ? 'clear' : f.severity;
}

const bp = (systolic: number, diastolic: number) => ({ type: 'blood_pressure' as const, systolic, diastolic });
const glucose = (value: number, unit: 'mg/dL' | 'mmol/L' = 'mg/dL', source: 'meter' | 'cgm' = 'meter', trendRate?: number) => ({
  type: 'glucose' as const,
  value,
  unit,
  source,
  ...(trendRate === undefined ? {} : { trendRate }),
});

// Each threshold at, just below and just above its boundary (docs/clinical-reference.md).
describe('threshold rules from the clinical reference', () => {
  it.each([
    ['bp.crisis', bp(180, 100), 'band'],
    ['bp.crisis', bp(170, 100), 'clear'],
    ['bp.crisis', bp(181, 100), 'critical'],
    ['bp.crisis', bp(170, 120), 'band'], // inside the 10 mmHg hysteresis band
    ['bp.crisis', bp(160, 121), 'critical'],
    ['bp.crisis', bp(165, 105), 'clear'],
    ['bp.crisis', { ...bp(24, 16), unit: 'kPa' as const }, 'band'], // 180.0/120.0 mmHg: on the line, not over it
    ['bp.crisis', { ...bp(24.2, 16), unit: 'kPa' as const }, 'critical'], // 181.5 mmHg
    ['bp.hypotension', bp(89, 70), 'warning'],
    ['bp.hypotension', bp(90, 60), 'band'],
    ['bp.hypotension', bp(96, 66), 'clear'],
    ['bp.hypotension', bp(120, 59), 'warning'],
    ['glucose.low', glucose(53), 'critical'],
    ['glucose.low', glucose(54), 'warning'],
    ['glucose.low', glucose(69), 'warning'],
    ['glucose.low', glucose(70), 'band'],
    ['glucose.low', glucose(80), 'clear'],
    ['glucose.low', glucose(2.9, 'mmol/L'), 'critical'], // 52.3 mg/dL
    ['glucose.low', glucose(3.0, 'mmol/L'), 'warning'], // 54.1 mg/dL
    ['glucose.low', glucose(3.9, 'mmol/L'), 'band'], // 70.3 mg/dL
    ['glucose.high', glucose(250), 'band'],
    ['glucose.high', glucose(251), 'warning'],
    ['glucose.high', glucose(13.9, 'mmol/L'), 'clear'], // 250.5 mg/dL: just over, after rounding? see below
    ['spo2.low', { type: 'spo2' as const, value: 92 }, 'warning'],
    ['spo2.low', { type: 'spo2' as const, value: 93 }, 'band'],
    ['spo2.low', { type: 'spo2' as const, value: 94 }, 'clear'],
    ['pulse.extreme', { type: 'heart_rate' as const, value: 40 }, 'warning'],
    ['pulse.extreme', { type: 'heart_rate' as const, value: 41 }, 'band'],
    ['pulse.extreme', { type: 'heart_rate' as const, value: 131 }, 'warning'],
    ['pulse.extreme', { type: 'heart_rate' as const, value: 125 }, 'clear'],
    ['temperature.abnormal', { type: 'temperature' as const, value: 38, unit: 'Cel' as const }, 'warning'],
    ['temperature.abnormal', { type: 'temperature' as const, value: 37.9, unit: 'Cel' as const }, 'band'],
    ['temperature.abnormal', { type: 'temperature' as const, value: 100.4, unit: 'degF' as const }, 'warning'],
    ['temperature.abnormal', { type: 'temperature' as const, value: 35, unit: 'Cel' as const }, 'warning'],
    ['temperature.abnormal', { type: 'temperature' as const, value: 36.8, unit: 'Cel' as const }, 'clear'],
  ] as const)('%s %j -> %s', (id, input, expected) => {
    const r = rule<'threshold'>(id);
    if (id === 'glucose.high' && input.type === 'glucose' && input.unit === 'mmol/L') {
      // 13.9 mmol/L is 250.5 mg/dL after conversion: over 250, a warning.
      expect(severity(r, input)).toBe('warning');
      return;
    }
    expect(severity(r, input)).toBe(expected);
  });

  it('applies the CGM predictive-low rule to CGM readings only, when falling fast and already low-ish', () => {
    const r = rule<'threshold'>('cgm.predictive_low');
    expect(severity(r, glucose(110, 'mg/dL', 'cgm', -2.5))).toBe('warning');
    expect(severity(r, glucose(110, 'mg/dL', 'cgm', -2))).toBe('clear');
    expect(severity(r, glucose(130, 'mg/dL', 'cgm', -3))).toBe('clear');
    expect(evaluateThreshold(r, observed(glucose(110, 'mg/dL', 'meter')))).toBeUndefined();
    expect(severity(r, glucose(6.1, 'mmol/L', 'cgm', -0.15))).toBe('warning'); // -2.7 mg/dL/min
  });

  it('keeps a COPD patient on the general SpO2 line; the 88-92 % target is a per-patient preset (BTS 2017)', () => {
    const copd = rule<'threshold'>('spo2.low', effectiveRules(['copd'], new Map()));
    expect(severity(copd, { type: 'spo2', value: 90 })).toBe('warning');
    expect(severity(copd, { type: 'spo2', value: 82 })).toBe('critical');
    const target = rule<'threshold'>('spo2.low', effectiveRules(['copd'], new Map([['spo2.low', findPreset('spo2.copd_target')!.override]])));
    expect(severity(target, { type: 'spo2', value: 90 })).toBe('clear');
    expect(severity(target, { type: 'spo2', value: 87 })).toBe('warning');
    expect(severity(target, { type: 'spo2', value: 83 })).toBe('critical');
  });

  it('lets a patient override values within the safety floor, validated as a whole rule', () => {
    const tighter = { tiers: [{ severity: 'critical', match: 'any', conditions: [{ field: 'systolic', op: '>', value: 170 }, { field: 'diastolic', op: '>', value: 120 }] }] };
    const rules = effectiveRules(['hypertension'], new Map([['bp.crisis', tighter]]));
    expect(severity(rule<'threshold'>('bp.crisis', rules), bp(175, 90))).toBe('critical');
    // Dropping the diastolic line loosens the guideline floor: refused, and ignored if found stored.
    expect(() => applyOverride(rule<'threshold'>('bp.crisis'), { tiers: [tighter.tiers[0]!].map((t) => ({ ...t, conditions: t.conditions.slice(0, 1) })) })).toThrow(/diastolic > 120/);
    expect(() => applyOverride(rule<'threshold'>('bp.crisis'), { tiers: [] })).toThrow(/bp.crisis/);
    // An override that fails validation or its safety floor is not applied: the patient keeps the default.
    expect(effectiveRules([], new Map([['fall.detected', { enabled: false }]])).some((r) => r.id === 'fall.detected')).toBe(true);
    expect(effectiveRules([], new Map([['temperature.abnormal', { enabled: false }]])).some((r) => r.id === 'temperature.abnormal')).toBe(false);
  });
});

// The catalogue's trend rules through the engine's port, on a patient in London (GMT in November). Each
// evaluator has its own table-driven tests (home-bp, weight-gain, time-below, activity-drop).
describe('trend rules', () => {
  const TZ = 'Europe/London';
  const trend = (id: string) => rule(id) as TrendRule;
  const verdict = (f: ReturnType<typeof evaluateTrend>) => (f === undefined ? 'none' : f.severity ?? (f.band ? 'band' : 'clear'));
  const days = (n: number, fields: (day: number) => Record<string, number>, hours: number[]) =>
    Array.from({ length: n }, (_, d) => hours.map((h) => ({ time: T - d * DAY + (h - 8) * HOUR, fields: fields(d), tags: {} }))).flat();

  it('7-day home BP: sessions morning and evening, day 1 discarded, 135/85, clears below 130/80 (AHA 2019)', () => {
    // Duplicates at 07:00 and 19:00 (today's evening is after T, so not yet measured).
    const week = (s: number, d: number, n = 8) => days(n, () => ({ systolic: s, diastolic: d }), [7, 7.05, 19, 19.05]);
    const r = trend('bp.home_average');
    expect(verdict(evaluateTrend(r, week(140, 90, 3), T, TZ))).toBe('none'); // day 1 and two more days
    expect(verdict(evaluateTrend(r, week(135, 80), T, TZ))).toBe('warning');
    expect(verdict(evaluateTrend(r, week(134, 84), T, TZ))).toBe('band');
    expect(verdict(evaluateTrend(r, week(129, 79), T, TZ))).toBe('clear');
    expect(verdict(evaluateTrend(r, week(120, 85), T, TZ))).toBe('warning');
  });

  it('heart-failure weight: > 0.9 kg in 1 day, > 2 kg in 3 days, > 2.3 kg in 7 days, morning weights (HFSA/AHA, ESC)', () => {
    const r = trend('weight.gain');
    const w = (values: number[]) => days(values.length, (d) => ({ value: values[values.length - 1 - d]! }), [7]);
    expect(verdict(evaluateTrend(r, w([80, 80.9]), T, TZ))).toBe('clear');
    expect(verdict(evaluateTrend(r, w([80, 81]), T, TZ))).toBe('warning');
    expect(evaluateTrend(r, w([80, 80.6, 81.4, 82.1]), T, TZ)).toMatchObject({ severity: 'warning', values: { days: 3 } });
    expect(evaluateTrend(r, w([80, 81, 81.2, 81.6, 82, 82.4]), T, TZ)).toMatchObject({ severity: 'warning', values: { days: 7 } });
    expect(verdict(evaluateTrend(r, w([82]), T, TZ))).toBe('none'); // no earlier morning weight yet
  });

  it('CGM time below 70 mg/dL over 24 h above 4 %, clears at 3 % (Battelino 2019)', () => {
    const r = trend('cgm.time_below_range');
    const cgm = (low: number, total = 100) =>
      Array.from({ length: total }, (_, i) => ({ time: T - i * 12 * 60_000, fields: { value: i < low ? 65 : 120 }, tags: { source: 'cgm' } }));
    expect(verdict(evaluateTrend(r, cgm(3), T, TZ))).toBe('clear');
    expect(verdict(evaluateTrend(r, cgm(4), T, TZ))).toBe('band');
    expect(verdict(evaluateTrend(r, cgm(5), T, TZ))).toBe('warning');
    expect(verdict(evaluateTrend(r, cgm(5, 40), T, TZ))).toBe('none'); // too few readings for 24 h
  });

  it('activity: 7-day daily mean below half the prior 28-day mean, whole local days only, clears at 60 %', () => {
    const r = trend('steps.drop');
    const midnight = T - 8 * HOUR; // 00:00 GMT
    const buckets = (recent: number, baseline: number, baselineDays = 28) =>
      Array.from({ length: 7 + baselineDays }, (_, i) => ({
        time: midnight - (i + 1) * DAY + 12 * HOUR,
        fields: { count: { mean: 0, min: 0, max: 0, count: 96, sum: i < 7 ? recent : baseline } },
      })).concat({ time: midnight + HOUR, fields: { count: { mean: 0, min: 0, max: 0, count: 1, sum: 10 } } }); // today: partial, ignored
    expect(verdict(evaluateTrend(r, buckets(2400, 5000), T, TZ))).toBe('warning');
    expect(verdict(evaluateTrend(r, buckets(2600, 5000), T, TZ))).toBe('band');
    expect(verdict(evaluateTrend(r, buckets(3000, 5000), T, TZ))).toBe('clear');
    expect(verdict(evaluateTrend(r, buckets(1000, 5000, 10), T, TZ))).toBe('none');
  });
});

describe('missing data and devices', () => {
  it('alerts when no reading arrives for longer than the plan expects', () => {
    const r = rule<'missing'>('missing.blood_pressure');
    expect(evaluateMissing(r, T - 47 * HOUR, T - 100 * DAY, T)?.severity).toBeNull();
    expect(evaluateMissing(r, T - 49 * HOUR, T - 100 * DAY, T)?.severity).toBe('warning');
    expect(evaluateMissing(r, undefined, T - 3 * DAY, T)?.message).toMatch(/since enrolment/);
    expect(evaluateMissing(rule<'missing'>('missing.cgm'), undefined, T - 3 * DAY, T)).toBeUndefined();
  });

  it("names the patient's own gap in a missing-data message, not the default the rule's title was written for", () => {
    const r = { ...rule<'missing'>('missing.blood_pressure'), maxGapHours: 72 };
    expect(evaluateMissing(r, T - 73 * HOUR, T - 100 * DAY, T)?.message).toBe('No blood pressure for 72 h: no reading for 73 h since the last one');
    expect(evaluateMissing(r, T - 1 * HOUR, T - 100 * DAY, T)?.message).toBe('No blood pressure for 72 h: readings arriving again');
    expect(evaluateMissing(rule<'missing'>('missing.weight'), T - 40 * HOUR, T - 100 * DAY, T)?.message).toBe('No weight for 36 h: no reading for 40 h since the last one');
    const cgm = { ...rule<'missing'>('missing.cgm'), maxGapHours: 4 };
    expect(evaluateMissing(cgm, T - 5 * HOUR, T - 100 * DAY, T)?.message).toBe('CGM gap over 4 h: no reading for 5 h since the last one');
  });

  it('device battery low with a 5-point band, and offline for over 24 h', () => {
    const battery = rule<'device'>('device.battery_low');
    const dev = (b: number | null, online = true, statusAt = T) => ({ id: 'd1', battery: b, online, statusAt });
    expect(evaluateDevice(battery, dev(14), T)?.severity).toBe('info');
    expect(evaluateDevice(battery, dev(17), T)).toMatchObject({ severity: null, band: true });
    expect(evaluateDevice(battery, dev(20), T)?.severity).toBeNull();
    const offline = rule<'device'>('device.offline');
    expect(evaluateDevice(offline, dev(80, false, T - 25 * HOUR), T)?.severity).toBe('warning');
    expect(evaluateDevice(offline, dev(80, false, T - 2 * HOUR), T)).toBeUndefined();
    expect(evaluateDevice(offline, dev(80, true), T)?.severity).toBeNull();
  });
});

describe('rule catalogue', () => {
  it('names a source for every default and programme rule', () => {
    for (const r of [...DEFAULT_RULE_SET, ...Object.values(PROGRAMME_RULE_SETS).flat()]) expect(r.source.length, r.id).toBeGreaterThan(10);
  });
});
