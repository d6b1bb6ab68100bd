import { describe, expect, it } from 'vitest';
import { normaliseReading, type NormaliseContext } from './normalise.js';
import { keyOf } from './reading.js';
import { wireReadingSchema, type WireReadingInput } from './wire.js';

const NOW = Date.parse('2026-11-22T12:00:00Z');
const ctx: NormaliseContext = {
  deviceId: 'dev-1',
  patientId: 'pat-1',
  receivedAt: NOW,
  futureToleranceMs: 5 * 60_000,
  maxAgeMs: 365 * 86_400_000,
  lateAfterMs: 15 * 60_000,
};
const time = '2026-11-22T11:59:00Z';

function run(input: WireReadingInput) {
  return normaliseReading(wireReadingSchema.parse(input), ctx);
}

function fields(input: WireReadingInput) {
  const result = run(input);
  if (!result.ok) throw new Error(`rejected: ${result.code} ${result.message}`);
  return result.reading.fields;
}

function code(input: WireReadingInput) {
  const result = run(input);
  return result.ok ? 'accepted' : result.code;
}

describe('unit normalisation to stored units', () => {
  it.each([
    [{ type: 'blood_pressure', time, systolic: 16, diastolic: 10.7, unit: 'kPa' }, { systolic: 120, diastolic: 80.3 }],
    [{ type: 'glucose', time, value: 5.5, unit: 'mmol/L', source: 'meter' }, { value: 99.1 }],
    [{ type: 'glucose', time, value: 3, unit: 'mmol/L', source: 'cgm', trendRate: -0.2 }, { value: 54.1, trend_rate: -3.6 }],
    [{ type: 'weight', time, value: 180, unit: 'lb' }, { value: 81.647 }],
    [{ type: 'temperature', time, value: 100.4, unit: 'degF' }, { value: 38 }],
    [{ type: 'temperature', time, value: 37.2, unit: 'Cel' }, { value: 37.2 }],
  ] as [WireReadingInput, Record<string, number>][])('%j', (input, expected) => {
    expect(fields(input)).toMatchObject(expected);
  });

  it('defaults blood pressure to mmHg and keeps pulse and the irregular-heartbeat flag', () => {
    expect(fields({ type: 'blood_pressure', time, systolic: 132, diastolic: 85, pulse: 71, irregularHeartbeat: true })).toEqual({
      systolic: 132,
      diastolic: 85,
      pulse: 71,
      irregular: 1,
    });
  });

  it('tags glucose with its source and meal context', () => {
    const result = run({ type: 'glucose', time, value: 140, unit: 'mg/dL', source: 'meter', mealContext: 'after_meal' });
    expect(result.ok && result.reading.tags).toEqual({ source: 'meter', meal: 'after_meal' });
  });
});

// docs/clinical-reference.md "Plausibility": a meter's "LO"/"HI" is an event, not a number.
describe('glucose meter HI / LO flags', () => {
  const flagged = (extra: Partial<WireReadingInput & { type: 'glucose' }>) => run({ type: 'glucose', time, source: 'meter', ...extra } as WireReadingInput);

  it('stores a flag alone as hi or lo with no value, tagged with its source', () => {
    const hi = flagged({ flag: 'HI', mealContext: 'after_meal' });
    expect(hi.ok && hi.reading.fields).toEqual({ hi: 1 });
    expect(hi.ok && hi.reading.tags).toEqual({ source: 'meter', meal: 'after_meal' });
    expect(fields({ type: 'glucose', time, source: 'cgm', flag: 'LO' })).toEqual({ lo: 1 });
  });

  it('keeps a value sent with a flag only when it is plausible', () => {
    expect(fields({ type: 'glucose', time, source: 'meter', flag: 'HI', value: 600, unit: 'mg/dL' })).toEqual({ hi: 1, value: 600 });
    expect(fields({ type: 'glucose', time, source: 'meter', flag: 'HI', value: 1200, unit: 'mg/dL' })).toEqual({ hi: 1 });
    expect(fields({ type: 'glucose', time, source: 'meter', flag: 'LO', value: 1.1, unit: 'mmol/L' })).toEqual({ lo: 1, value: 19.8 });
    expect(fields({ type: 'glucose', time, source: 'meter', flag: 'LO', value: 0.5, unit: 'mmol/L' })).toEqual({ lo: 1 });
    expect(fields({ type: 'glucose', time, source: 'cgm', flag: 'LO', unit: 'mmol/L', trendRate: -0.1 })).toEqual({ lo: 1, trend_rate: -1.8 });
  });

  it('still rejects a control-solution test, flagged or not, and an implausible value without a flag', () => {
    expect(code({ type: 'glucose', time, source: 'meter', flag: 'HI', sampleType: 'control_solution' })).toBe('VIGIL_ERR_CONTROL_SOLUTION');
    expect(code({ type: 'glucose', time, source: 'meter', value: 1200, unit: 'mg/dL' })).toBe('VIGIL_ERR_OUT_OF_RANGE');
  });

  it.each([
    [{ type: 'glucose', time, source: 'meter' }, 'value', 'needs a value with its unit, or a flag "HI" or "LO"'],
    [{ type: 'glucose', time, source: 'meter', value: 100 }, 'unit', 'unit (mg/dL or mmol/L) is required'],
    [{ type: 'glucose', time, source: 'cgm', flag: 'LO', trendRate: -2 }, 'unit', 'unit (mg/dL or mmol/L) is required'],
    [{ type: 'glucose', time, source: 'meter', flag: 'HIGH' }, 'flag', ''],
  ] as [unknown, string, string][])('rejects %j, naming %s', (input, field, message) => {
    const parsed = wireReadingSchema.safeParse(input);
    expect(parsed.success).toBe(false);
    expect(parsed.error?.issues[0]?.path).toEqual([field]);
    expect(parsed.error?.issues[0]?.message).toContain(message);
  });
});

// Plausibility boundaries from docs/clinical-reference.md: each at, just inside and just outside its limit.
describe('plausibility ranges (docs/clinical-reference.md)', () => {
  const bp = (systolic: number, diastolic: number): WireReadingInput => ({ type: 'blood_pressure', time, systolic, diastolic });
  it.each([
    [bp(300, 100), 'accepted'],
    [bp(301, 100), 'VIGIL_ERR_OUT_OF_RANGE'],
    [bp(40, 20), 'accepted'],
    [bp(39, 20), 'VIGIL_ERR_OUT_OF_RANGE'],
    [bp(250, 200), 'accepted'],
    [bp(250, 201), 'VIGIL_ERR_OUT_OF_RANGE'],
    [bp(60, 19), 'VIGIL_ERR_OUT_OF_RANGE'],
    [bp(120, 120), 'VIGIL_ERR_BP_ORDER'],
    [bp(80, 90), 'VIGIL_ERR_BP_ORDER'],
    [{ type: 'blood_pressure', time, systolic: 120, diastolic: 80, pulse: 19 }, 'VIGIL_ERR_OUT_OF_RANGE'],
    [{ type: 'heart_rate', time, value: 20 }, 'accepted'],
    [{ type: 'heart_rate', time, value: 300 }, 'accepted'],
    [{ type: 'heart_rate', time, value: 301 }, 'VIGIL_ERR_OUT_OF_RANGE'],
    [{ type: 'glucose', time, value: 10, unit: 'mg/dL', source: 'meter' }, 'accepted'],
    [{ type: 'glucose', time, value: 9.9, unit: 'mg/dL', source: 'meter' }, 'VIGIL_ERR_OUT_OF_RANGE'],
    [{ type: 'glucose', time, value: 1000, unit: 'mg/dL', source: 'meter' }, 'accepted'],
    [{ type: 'glucose', time, value: 55.5, unit: 'mmol/L', source: 'meter' }, 'accepted'],
    [{ type: 'glucose', time, value: 56, unit: 'mmol/L', source: 'meter' }, 'VIGIL_ERR_OUT_OF_RANGE'],
    [{ type: 'glucose', time, value: 0.5, unit: 'mmol/L', source: 'meter' }, 'VIGIL_ERR_OUT_OF_RANGE'],
    [{ type: 'glucose', time, value: 100, unit: 'mg/dL', source: 'meter', sampleType: 'control_solution' }, 'VIGIL_ERR_CONTROL_SOLUTION'],
    [{ type: 'weight', time, value: 400, unit: 'kg' }, 'accepted'],
    [{ type: 'weight', time, value: 400.1, unit: 'kg' }, 'VIGIL_ERR_OUT_OF_RANGE'],
    [{ type: 'weight', time, value: 900, unit: 'lb' }, 'VIGIL_ERR_OUT_OF_RANGE'],
    [{ type: 'weight', time, value: 0.5, unit: 'kg' }, 'VIGIL_ERR_OUT_OF_RANGE'],
    [{ type: 'spo2', time, value: 50 }, 'accepted'],
    [{ type: 'spo2', time, value: 49 }, 'VIGIL_ERR_OUT_OF_RANGE'],
    [{ type: 'spo2', time, value: 100.5 }, 'VIGIL_ERR_OUT_OF_RANGE'],
    [{ type: 'temperature', time, value: 45, unit: 'Cel' }, 'accepted'],
    [{ type: 'temperature', time, value: 45.1, unit: 'Cel' }, 'VIGIL_ERR_OUT_OF_RANGE'],
    [{ type: 'temperature', time, value: 24.9, unit: 'Cel' }, 'VIGIL_ERR_OUT_OF_RANGE'],
    [{ type: 'temperature', time, value: 115, unit: 'degF' }, 'VIGIL_ERR_OUT_OF_RANGE'],
    [{ type: 'steps', time, count: 60_000, periodSeconds: 3600 }, 'accepted'],
    [{ type: 'steps', time, count: 60_001, periodSeconds: 3600 }, 'VIGIL_ERR_OUT_OF_RANGE'],
    [{ type: 'fall', time }, 'accepted'],
    [{ type: 'fall', time, confidence: 1.2 }, 'VIGIL_ERR_OUT_OF_RANGE'],
  ] as [WireReadingInput, string][])('%j -> %s', (input, expected) => {
    expect(code(input)).toBe(expected);
  });
});

describe('time of measurement', () => {
  const at = (t: string): WireReadingInput => ({ type: 'heart_rate', time: t, value: 70 });
  it('rejects a time further ahead than the allowed skew, accepts one within it', () => {
    expect(code(at('2026-11-22T12:06:00Z'))).toBe('VIGIL_ERR_FUTURE_TIME');
    expect(code(at('2026-11-22T12:04:00Z'))).toBe('accepted');
  });

  it('honours the offset of the timestamp', () => {
    const result = run(at('2026-11-22T13:00:00+01:00'));
    expect(result.ok && result.reading.time).toBe(NOW);
  });

  it('marks a backlog reading late and rejects one from a reset clock', () => {
    const late = run(at('2026-11-22T10:00:00Z'));
    expect(late.ok && late.reading.late).toBe(true);
    const fresh = run(at('2026-11-22T11:50:00Z'));
    expect(fresh.ok && fresh.reading.late).toBe(false);
    expect(code(at('1970-01-01T00:00:00Z'))).toBe('VIGIL_ERR_TOO_OLD');
  });

  it('builds the idempotency key from device, type, time and message id', () => {
    const a = run({ type: 'heart_rate', time, value: 70, id: 'x1' });
    const b = run({ type: 'heart_rate', time, value: 71, id: 'x1' });
    const c = run({ type: 'heart_rate', time, value: 70, id: 'x2' });
    expect(a.ok && b.ok && keyOf(a.reading) === keyOf(b.reading)).toBe(true);
    expect(a.ok && c.ok && keyOf(a.reading) !== keyOf(c.reading)).toBe(true);
  });
});

describe('wire schema', () => {
  it.each([
    [{ type: 'heart_rate', time: '2026-11-22T11:59:00', value: 70 }, 'a time without an offset'],
    [{ type: 'heart_rate', time: 'yesterday', value: 70 }, 'a time that is not RFC 3339'],
    [{ type: 'heart_rate', time, value: '70' }, 'a number sent as a string'],
    [{ type: 'glucose', time, value: 100, unit: 'mg/dl', source: 'meter' }, 'an unknown unit'],
    [{ type: 'glucose', time, value: 100, unit: 'mg/dL' }, 'a missing source'],
    [{ type: 'steps', time, count: 10.5, periodSeconds: 60 }, 'a fractional step count'],
    [{ type: 'steps', time, count: 10, periodSeconds: 0 }, 'an empty period'],
    [{ type: 'blood_pressure', time, systolic: 120 }, 'a missing diastolic'],
  ] as [unknown, string][])('rejects %j (%s)', (input) => {
    expect(wireReadingSchema.safeParse(input).success).toBe(false);
  });
});
