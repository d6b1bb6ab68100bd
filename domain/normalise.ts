import type { RejectionCode } from './errors.js';
import { inRange, PLAUSIBLE, type Range } from './plausibility.js';
import type { Reading } from './reading.js';
import { glucoseToMgDl, pressureToMmHg, temperatureToCelsius, weightToKg } from './units.js';
import type { WireReading } from './wire.js';

export interface NormaliseContext {
  readonly deviceId: string;
  readonly patientId: string;
  readonly receivedAt: number;
  /** Allowed clock skew: a time further ahead than this is rejected. */
  readonly futureToleranceMs: number;
  /** The oldest backlog accepted; older is a device clock error. */
  readonly maxAgeMs: number;
  /** Older than this on arrival and the reading is marked late. */
  readonly lateAfterMs: number;
}

export type NormaliseResult =
  | { readonly ok: true; readonly reading: Reading }
  | {
      readonly ok: false;
      readonly code: RejectionCode;
      readonly message: string;
      /** For VIGIL_ERR_FUTURE_TIME: how far ahead of the server clock the reading's time is (clock-skew estimate). */
      readonly aheadMs?: number;
    };

type Measured = { fields: Record<string, number>; tags?: Record<string, string> };
type Outcome = Measured | { code: RejectionCode; message: string };

function reject(code: RejectionCode, message: string): Outcome {
  return { code, message };
}

function outside(name: string, value: number, range: Range, unit: string): Outcome | undefined {
  if (inRange(value, range)) return undefined;
  return reject('VIGIL_ERR_OUT_OF_RANGE', `${name} ${value} ${unit} is outside ${range.min}-${range.max} ${unit}`);
}

/** One handler per reading type; the exhaustive switch makes a new type a compile error until it is handled. */
function measure(wire: WireReading): Outcome {
  switch (wire.type) {
    case 'blood_pressure': {
      const systolic = pressureToMmHg(wire.systolic, wire.unit);
      const diastolic = pressureToMmHg(wire.diastolic, wire.unit);
      const bad =
        outside('systolic', systolic, PLAUSIBLE.systolic, 'mmHg') ??
        outside('diastolic', diastolic, PLAUSIBLE.diastolic, 'mmHg') ??
        (wire.pulse === undefined ? undefined : outside('pulse', wire.pulse, PLAUSIBLE.pulse, '/min'));
      if (bad) return bad;
      if (systolic <= diastolic) {
        return reject('VIGIL_ERR_BP_ORDER', `systolic ${systolic} mmHg is not above diastolic ${diastolic} mmHg`);
      }
      const fields: Record<string, number> = { systolic, diastolic };
      if (wire.pulse !== undefined) fields.pulse = wire.pulse;
      if (wire.irregularHeartbeat !== undefined) fields.irregular = wire.irregularHeartbeat ? 1 : 0;
      return { fields };
    }
    case 'glucose': {
      if (wire.sampleType === 'control_solution') {
        return reject('VIGIL_ERR_CONTROL_SOLUTION', 'control-solution test: not stored as patient data');
      }
      const fields: Record<string, number> = {};
      // docs/clinical-reference.md: a meter's HI / LO is an event (beyond its range), stored as a field of its own, not a number.
      if (wire.flag === 'HI') fields.hi = 1;
      if (wire.flag === 'LO') fields.lo = 1;
      if (wire.value !== undefined && wire.unit !== undefined) {
        const value = glucoseToMgDl(wire.value, wire.unit);
        const bad = outside('glucose', value, PLAUSIBLE.glucoseMgDl, 'mg/dL');
        // With a flag the event stands on its own: an implausible number beside it is dropped, not the reading.
        if (bad && !wire.flag) return bad;
        if (!bad) fields.value = value;
      } else if (!wire.flag) {
        // The wire schema already requires one of the two; this keeps the promise for any other caller.
        return reject('VIGIL_ERR_SCHEMA', 'value: a glucose reading needs a value with its unit, or a flag "HI" or "LO"');
      }
      if (wire.trendRate !== undefined && wire.unit !== undefined) fields.trend_rate = glucoseToMgDl(wire.trendRate, wire.unit);
      const tags: Record<string, string> = { source: wire.source };
      if (wire.mealContext) tags.meal = wire.mealContext;
      return { fields, tags };
    }
    case 'weight': {
      const value = weightToKg(wire.value, wire.unit);
      return outside('weight', value, PLAUSIBLE.weightKg, 'kg') ?? { fields: { value } };
    }
    case 'spo2': {
      const bad =
        outside('SpO2', wire.value, PLAUSIBLE.spo2, '%') ??
        (wire.pulse === undefined ? undefined : outside('pulse', wire.pulse, PLAUSIBLE.pulse, '/min'));
      if (bad) return bad;
      return { fields: wire.pulse === undefined ? { value: wire.value } : { value: wire.value, pulse: wire.pulse } };
    }
    case 'heart_rate':
      return outside('heart rate', wire.value, PLAUSIBLE.pulse, '/min') ?? { fields: { value: wire.value } };
    case 'temperature': {
      const value = temperatureToCelsius(wire.value, wire.unit);
      return outside('temperature', value, PLAUSIBLE.temperatureCel, 'Cel') ?? { fields: { value } };
    }
    case 'steps': {
      const perMinute = wire.count / (wire.periodSeconds / 60);
      const max = PLAUSIBLE.stepsPerMinute.max;
      if (perMinute > max) {
        return reject('VIGIL_ERR_OUT_OF_RANGE', `${wire.count} steps in ${wire.periodSeconds} s is over ${max} per minute`);
      }
      return { fields: { count: wire.count, period_s: wire.periodSeconds } };
    }
    case 'fall': {
      const confidence = wire.confidence ?? 1;
      return outside('confidence', confidence, PLAUSIBLE.fallConfidence, '') ?? { fields: { confidence } };
    }
    default: {
      const unreachable: never = wire;
      return unreachable;
    }
  }
}

/** Turns a schema-valid wire reading into a stored reading, or the reason it cannot be one. */
export function normaliseReading(wire: WireReading, ctx: NormaliseContext): NormaliseResult {
  const time = Date.parse(wire.time);
  if (time - ctx.receivedAt > ctx.futureToleranceMs) {
    const seconds = Math.round((time - ctx.receivedAt) / 1000);
    return { ok: false, code: 'VIGIL_ERR_FUTURE_TIME', message: `time is ${seconds} s in the future (check the device clock)`, aheadMs: time - ctx.receivedAt };
  }
  if (ctx.receivedAt - time > ctx.maxAgeMs) {
    const days = Math.floor((ctx.receivedAt - time) / 86_400_000);
    return { ok: false, code: 'VIGIL_ERR_TOO_OLD', message: `time is ${days} days old (check the device clock)` };
  }
  const outcome = measure(wire);
  if ('code' in outcome) return { ok: false, code: outcome.code, message: outcome.message };
  return {
    ok: true,
    reading: {
      type: wire.type,
      deviceId: ctx.deviceId,
      patientId: ctx.patientId,
      time,
      msgId: wire.id,
      receivedAt: ctx.receivedAt,
      late: ctx.receivedAt - time > ctx.lateAfterMs,
      fields: outcome.fields,
      tags: outcome.tags ?? {},
    },
  };
}
