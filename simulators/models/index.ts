import type { WireReadingInput } from '../../domain/index.js';
import type { Physiology } from '../profiles.js';
import { round, type Rng } from '../rng.js';

export type DeviceModel = 'bp_cuff' | 'glucose_meter' | 'cgm' | 'scale' | 'pulse_oximeter' | 'thermometer' | 'activity_tracker' | 'fall_detector';

export const DEVICE_MODELS: readonly DeviceModel[] = [
  'bp_cuff',
  'glucose_meter',
  'cgm',
  'scale',
  'pulse_oximeter',
  'thermometer',
  'activity_tracker',
  'fall_detector',
];

/** What a model needs to produce one measurement: the patient's physiology, the moment, the random source. */
export interface MeasureContext {
  readonly body: Physiology;
  readonly at: Date;
  readonly rng: Rng;
  readonly seq: number;
}

/** Post-meal glucose rises (simplified: three meals a day, peak about an hour after). */
function mealEffect(at: Date): number {
  const hour = at.getUTCHours() + at.getUTCMinutes() / 60;
  return [7.5, 12.5, 18.5].reduce((sum, meal) => {
    const since = hour - meal;
    return since > 0 && since < 3 ? sum + Math.sin((Math.PI * since) / 3) : sum;
  }, 0);
}

/** Dawn phenomenon: counter-regulatory hormones raise glucose between about 4 and 8 in the morning. */
function dawnEffect(at: Date): number {
  const hour = at.getUTCHours() + at.getUTCMinutes() / 60;
  return hour > 4 && hour < 8 ? 0.4 * Math.sin((Math.PI * (hour - 4)) / 4) : 0;
}

/** One measurement of a device model, in the wire format a real device of that kind sends. */
export function measure(model: DeviceModel, ctx: MeasureContext): WireReadingInput {
  const { body, at, rng, seq } = ctx;
  const time = at.toISOString();
  const id = `m${seq}`;
  switch (model) {
    case 'bp_cuff': {
      // Now and then a reading taken tense or in a hurry (the home version of white-coat hypertension).
      const spike = rng.chance(0.04) ? 15 + rng.next() * 10 : 0;
      const systolic = round(rng.normal(body.systolic, 8) + spike);
      const diastolic = round(Math.min(systolic - 20, rng.normal(body.diastolic, 6)));
      return { type: 'blood_pressure', time, id, systolic, diastolic, unit: 'mmHg', pulse: round(rng.normal(body.pulse, 5)), irregularHeartbeat: rng.chance(0.03) };
    }
    case 'glucose_meter':
      return {
        type: 'glucose',
        time,
        id,
        value: round(Math.max(45, rng.normal(body.glucose + body.glucoseSwing * (mealEffect(at) + dawnEffect(at)), 15))),
        unit: 'mg/dL',
        source: 'meter',
        mealContext: mealEffect(at) > 0.2 ? 'after_meal' : 'fasting',
      };
    case 'cgm': {
      const value = Math.min(400, Math.max(40, rng.normal(body.glucose + body.glucoseSwing * (mealEffect(at) + dawnEffect(at)), 10)));
      return { type: 'glucose', time, id, value: round(value), unit: 'mg/dL', source: 'cgm', trendRate: round(rng.normal(0, 0.8), 1) };
    }
    case 'scale':
      return { type: 'weight', time, id, value: round(rng.normal(body.weightKg, 0.3), 1), unit: 'kg' };
    case 'pulse_oximeter':
      return { type: 'spo2', time, id, value: round(Math.min(100, rng.normal(body.spo2, 1.2))), pulse: round(rng.normal(body.pulse, 6)) };
    case 'thermometer':
      return { type: 'temperature', time, id, value: round(rng.normal(body.temperature, 0.25), 1), unit: 'Cel' };
    case 'activity_tracker': {
      const hour = at.getUTCHours();
      const awake = hour >= 7 && hour <= 22 ? 1 : 0.05;
      return { type: 'steps', time, id, count: Math.max(0, round(rng.normal(body.stepsPerHour * awake, body.stepsPerHour * 0.3))), periodSeconds: 3600 };
    }
    case 'fall_detector':
      // A wearable reports an event, not a measurement: each one is a detected fall.
      return { type: 'fall', time, id, confidence: Math.round((0.8 + rng.next() * 0.2) * 100) / 100 };
    default: {
      const unreachable: never = model;
      return unreachable;
    }
  }
}
