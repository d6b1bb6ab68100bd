import { describe, expect, it } from 'vitest';
import type { ReadingType } from '../domain/index.js';
import { bandPoints, RISK_BANDS, SPO2_SCALE_2, type RiskParameter } from './risk-definitions.js';
import { riskScore, type LatestVital } from './risk-score.js';

const NOW = Date.parse('2026-11-22T12:00:00Z');
const MIN = 60_000;
const bands = (p: RiskParameter) => RISK_BANDS.find((b) => b.parameter === p)!;
const latest = (...vitals: LatestVital[]) => new Map<ReadingType, LatestVital>(vitals.map((v) => [v.type, v]));

describe('risk score in the style of NEWS2 (RCP 2017, chart 1), worked by hand', () => {
  it.each<[RiskParameter, [number, number][]]>([
    // SpO2 scale 1: <= 91: 3, 92-93: 2, 94-95: 1, >= 96: 0.
    ['spo2', [[100, 0], [96, 0], [95, 1], [94, 1], [93, 2], [92, 2], [91, 3], [85, 3], [91.5, 2], [91.4, 3]]],
    // Pulse: <= 40: 3, 41-50: 1, 51-90: 0, 91-110: 1, 111-130: 2, >= 131: 3.
    ['pulse', [[40, 3], [41, 1], [50, 1], [51, 0], [90, 0], [91, 1], [110, 1], [111, 2], [130, 2], [131, 3], [180, 3]]],
    // Systolic: <= 90: 3, 91-100: 2, 101-110: 1, 111-219: 0, >= 220: 3.
    ['systolic', [[90, 3], [91, 2], [100, 2], [101, 1], [110, 1], [111, 0], [219, 0], [220, 3]]],
    // Temperature: <= 35.0: 3, 35.1-36.0: 1, 36.1-38.0: 0, 38.1-39.0: 1, >= 39.1: 2.
    ['temperature', [[35, 3], [35.1, 1], [36, 1], [36.1, 0], [38, 0], [38.1, 1], [39, 1], [39.1, 2], [40.2, 2], [36.04, 1]]],
  ])('scores %s on the chart bands, at every boundary', (parameter, cases) => {
    expect(cases.map(([v]) => bandPoints(bands(parameter), v))).toEqual(cases.map(([, points]) => points));
  });

  it('scores SpO2 on scale 2 for a clinician-set 88-92 % target, at every boundary (on air above it)', () => {
    // Scale 2: <= 83: 3, 84-85: 2, 86-87: 1, 88-92: 0, >= 93 on air: 0.
    const cases: [number, number][] = [[80, 3], [83, 3], [84, 2], [85, 2], [86, 1], [87, 1], [88, 0], [90, 0], [92, 0], [93, 0], [98, 0], [87.4, 1], [87.5, 0]];
    expect(cases.map(([v]) => bandPoints(SPO2_SCALE_2, v))).toEqual(cases.map(([, points]) => points));
    // The same 89 % is 3 points on scale 1 (a COPD patient at their usual level would outrank a deteriorating one).
    const usual = latest({ type: 'spo2', time: NOW - 30 * MIN, fields: { value: 89 } });
    expect(riskScore(usual, [], NOW).parts[0]).toMatchObject({ label: 'SpO2', points: 3 });
    const onTarget = riskScore(usual, [], NOW, 2);
    expect(onTarget.parts[0]).toMatchObject({ label: 'SpO2 (scale 2)', points: 0 });
    expect([onTarget.spo2Scale, onTarget.band, onTarget.text]).toEqual([2, 'low', 'SpO2 (scale 2) 89 %: 0']);
  });

  it('adds the parts and explains them: SpO2 91 %: 3, pulse 118: 2, systolic 105: 1, temperature 38.5: 1 = 7, high', () => {
    const r = riskScore(
      latest(
        { type: 'spo2', time: NOW - 30 * MIN, fields: { value: 91, pulse: 96 } },
        // The heart-rate monitor measured pulse last (118), after the oximeter (96) and the cuff (84).
        { type: 'heart_rate', time: NOW - 10 * MIN, fields: { value: 118 } },
        { type: 'blood_pressure', time: NOW - 60 * MIN, fields: { systolic: 105, diastolic: 70, pulse: 84 } },
        { type: 'temperature', time: NOW - 20 * MIN, fields: { value: 38.5 } },
        { type: 'weight', time: NOW - 20 * MIN, fields: { value: 80 } },
      ),
      [],
      NOW,
    );
    expect(r.parts.map((p) => [p.parameter, p.value, p.points])).toEqual([
      ['spo2', 91, 3],
      ['pulse', 118, 2],
      ['systolic', 105, 1],
      ['temperature', 38.5, 1],
    ]);
    expect([r.vitalsScore, r.score, r.band]).toEqual([7, 7, 'high']);
    expect(r.text).toBe('SpO2 91 %: 3, pulse 118 /min: 2, systolic BP 105 mmHg: 1, temperature 38.5 °C: 1');
  });

  it('does not score a vital older than 24 h, and adds 1 for each live trend alert', () => {
    // SpO2 93 (2) measured 25 h ago: stale. Systolic 95 (2) an hour ago, pulse from the cuff 72 (0).
    // Vitals 2; a weight-gain alert adds 1: score 3. No single part scores 3: low.
    const r = riskScore(
      latest({ type: 'spo2', time: NOW - 25 * 60 * MIN, fields: { value: 93 } }, { type: 'blood_pressure', time: NOW - 60 * MIN, fields: { systolic: 95, diastolic: 60, pulse: 72 } }),
      [{ id: 4, ruleId: 'weight.gain', title: 'Weight gain (fluid retention)' }],
      NOW,
    );
    expect(r.stale).toEqual([{ parameter: 'spo2', label: 'SpO2', measuredAt: NOW - 25 * 60 * MIN }]);
    expect(r.parts.map((p) => [p.parameter, p.points])).toEqual([
      ['pulse', 0],
      ['systolic', 2],
    ]);
    expect([r.vitalsScore, r.score, r.band]).toEqual([2, 3, 'low']);
    expect(r.text).toBe('pulse 72 /min: 0, systolic BP 95 mmHg: 2, Weight gain (fluid retention): 1');
  });

  it('bands the vitals as NEWS2 does: a single 3 is low-medium, 5-6 medium; nothing recent is 0 and says so', () => {
    expect(riskScore(latest({ type: 'spo2', time: NOW, fields: { value: 90 } }), [], NOW).band).toBe('low_medium');
    // SpO2 93 (2) + systolic 95 (2) + pulse 100 (1) = 5.
    const medium = riskScore(latest({ type: 'spo2', time: NOW, fields: { value: 93, pulse: 100 } }, { type: 'blood_pressure', time: NOW - MIN, fields: { systolic: 95, diastolic: 60 } }), [], NOW);
    expect([medium.vitalsScore, medium.band]).toEqual([5, 'medium']);
    const none = riskScore(new Map(), [], NOW);
    expect([none.score, none.band, none.text]).toEqual([0, 'low', 'no vitals in the last 24 h']);
  });
});
