import { connect } from 'mqtt';
import type { Programme, ReadingType, WireReadingInput } from '../domain/index.js';
import type { DeviceConnection, SimulatedDevice } from './device.js';
import type { DeviceModel } from './models/index.js';
import type { Condition } from './profiles.js';

/** What Vigil should do; `alert` and `stored` are checked on the server, the rest by the device itself. */
export type Expectation =
  | { readonly kind: 'alert'; readonly ruleId: string; readonly severity: 'info' | 'warning' | 'critical' }
  | { readonly kind: 'rejection'; readonly code: string }
  | { readonly kind: 'stored'; readonly type: ReadingType; readonly count: number }
  | { readonly kind: 'refused'; readonly what: string };

export interface ScenarioContext {
  readonly conn: DeviceConnection;
  /** Records something the device saw that a server-side check cannot (a refused connection, say). */
  readonly observe: (refusal: string) => void;
}

export interface Scenario {
  readonly name: string;
  readonly summary: string;
  readonly patient: { readonly condition: Condition; readonly programmes: readonly Programme[] };
  readonly model: DeviceModel;
  /** Rule values the scenario needs to play out in seconds rather than days (per-patient overrides). */
  readonly overrides?: Readonly<Record<string, Record<string, unknown>>>;
  /** Named rule presets the care team chose for this patient (e.g. `spo2.copd_target`). */
  readonly presets?: readonly string[];
  readonly expects: readonly Expectation[];
  run(device: SimulatedDevice, ctx: ScenarioContext): Promise<void>;
}

const MIN = 60_000;
const iso = (offsetMs = 0) => new Date(Date.now() + offsetMs).toISOString();
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function publishEach(device: SimulatedDevice, readings: WireReadingInput[]): Promise<void> {
  for (const r of readings) await device.publish(r);
}

/** Connects with these credentials once, without retrying; reports whether the gateway let it in. */
async function tryConnect(conn: DeviceConnection, options: { clientId: string; username: string; password: string }): Promise<'connected' | 'refused'> {
  const client = connect(conn.url, { ...options, reconnectPeriod: 0, connectTimeout: 5000, ca: conn.ca });
  const outcome = await new Promise<'connected' | 'refused'>((resolve) => {
    client.once('connect', () => resolve('connected'));
    client.once('error', () => resolve('refused'));
    client.once('close', () => resolve('refused'));
  });
  client.end(true);
  return outcome;
}

/**
 * Named clinical and technical scenarios. Each states what Vigil should do; `vigil simulate --scenario NAME
 * --verify` runs it against a real Vigil and checks that it did. docs/simulators.md explains how to add one.
 */
export const SCENARIOS: readonly Scenario[] = [
  {
    name: 'hypertensive-crisis',
    summary: 'a BP cuff measures 190/122 twice, a minute apart',
    patient: { condition: 'hypertension', programmes: ['hypertension'] },
    model: 'bp_cuff',
    expects: [{ kind: 'alert', ruleId: 'bp.crisis', severity: 'critical' }],
    run: (d) =>
      publishEach(d, [
        { type: 'blood_pressure', time: iso(-MIN), systolic: 190, diastolic: 122, pulse: 96, id: 'crisis-1' },
        { type: 'blood_pressure', time: iso(), systolic: 192, diastolic: 121, pulse: 98, id: 'crisis-2' },
      ]),
  },
  {
    name: 'hypoglycaemia',
    summary: 'a CGM falls 2.5 mg/dL/min from 110 to 45 mg/dL',
    patient: { condition: 'type1_diabetes', programmes: ['diabetes'] },
    model: 'cgm',
    expects: [
      { kind: 'alert', ruleId: 'cgm.predictive_low', severity: 'warning' },
      { kind: 'alert', ruleId: 'glucose.low', severity: 'critical' },
    ],
    run: (d) =>
      publishEach(
        d,
        Array.from({ length: 8 }, (_, i) => ({
          type: 'glucose' as const,
          time: iso((i - 7) * 5 * MIN),
          value: Math.max(45, 110 - 12 * i),
          unit: 'mg/dL' as const,
          source: 'cgm' as const,
          trendRate: -2.5,
          id: `cgm-${i}`,
        })),
      ),
  },
  {
    name: 'hf-decompensation',
    summary: 'a heart-failure patient gains 0.5 kg a day for a week (uploaded by a hub as a backlog)',
    patient: { condition: 'heart_failure', programmes: ['heart_failure'] },
    model: 'scale',
    expects: [{ kind: 'alert', ruleId: 'weight.gain', severity: 'warning' }],
    run: async (d) => {
      const day = 24 * 60 * MIN;
      // Morning weights (07:00 in the patient's zone, UTC for simulated patients): the rule reads morning weights.
      const morning = Math.floor(Date.now() / day) * day + 7 * 60 * MIN;
      const last = morning <= Date.now() ? morning : morning - day;
      const backlog = Array.from({ length: 8 }, (_, i) => ({
        type: 'weight' as const,
        time: new Date(last - (7 - i) * day).toISOString(),
        value: 80 + 0.5 * i,
        unit: 'kg' as const,
        id: `w-${i}`,
      }));
      await d.publish(backlog);
    },
  },
  {
    name: 'copd-desaturation',
    summary: 'a COPD patient whose clinician set the 88-92 % target reads 85 % three times',
    patient: { condition: 'copd', programmes: ['copd'] },
    presets: ['spo2.copd_target'],
    model: 'pulse_oximeter',
    expects: [{ kind: 'alert', ruleId: 'spo2.low', severity: 'warning' }],
    run: (d) => publishEach(d, [0, 1, 2].map((i) => ({ type: 'spo2' as const, time: iso((i - 2) * MIN), value: 85, pulse: 104, id: `sat-${i}` }))),
  },
  {
    name: 'fall',
    summary: 'a wearable detects a fall, and reports it three times in a burst',
    patient: { condition: 'healthy', programmes: [] },
    model: 'fall_detector',
    expects: [{ kind: 'alert', ruleId: 'fall.detected', severity: 'critical' }],
    run: (d) => publishEach(d, [0, 1, 2].map((i) => ({ type: 'fall' as const, time: iso(-i * 1000), confidence: 0.95, id: `fall-${i}` }))),
  },
  {
    name: 'silent-patient',
    summary: 'a BP cuff reports once and then goes silent (missing-data gap shortened to 5 s for the run)',
    patient: { condition: 'hypertension', programmes: ['hypertension'] },
    model: 'bp_cuff',
    overrides: { 'missing.blood_pressure': { maxGapHours: 5 / 3600 } },
    expects: [{ kind: 'alert', ruleId: 'missing.blood_pressure', severity: 'warning' }],
    run: (d) => d.publish({ type: 'blood_pressure', time: iso(), systolic: 138, diastolic: 86, id: 'last-words' }),
  },
  {
    name: 'flaky-network',
    summary: 'a hub loses its connection mid-stream, keeps measuring, reconnects and uploads what it held',
    patient: { condition: 'healthy', programmes: [] },
    model: 'thermometer',
    expects: [{ kind: 'stored', type: 'temperature', count: 20 }],
    run: async (d) => {
      const reading = (i: number): WireReadingInput => ({ type: 'temperature', time: iso((i - 20) * MIN), value: 36.6, unit: 'Cel', id: `t-${i}` });
      await publishEach(d, Array.from({ length: 10 }, (_, i) => reading(i)));
      d.dropConnection();
      // Published while offline: mqtt.js keeps QoS 1 messages and sends them after reconnecting.
      await Promise.all(Array.from({ length: 10 }, (_, i) => d.publish(reading(10 + i))));
    },
  },
  {
    name: 'clock-skew',
    summary: 'a device clock runs an hour fast, another reading is from a clock reset to 1970',
    patient: { condition: 'healthy', programmes: [] },
    model: 'thermometer',
    expects: [
      { kind: 'rejection', code: 'VIGIL_ERR_FUTURE_TIME' },
      { kind: 'rejection', code: 'VIGIL_ERR_TOO_OLD' },
      { kind: 'stored', type: 'temperature', count: 1 },
    ],
    run: (d) =>
      d.publish([
        { type: 'temperature', time: iso(60 * MIN), value: 36.8, unit: 'Cel', id: 'fast' },
        { type: 'temperature', time: '1970-01-01T00:00:10Z', value: 36.8, unit: 'Cel', id: 'reset' },
        { type: 'temperature', time: iso(-2 * 60 * MIN), value: 36.9, unit: 'Cel', id: 'late-but-fine' },
      ]),
  },
  {
    name: 'duplicate-storm',
    summary: 'a device resends the same reading 25 times (lost acknowledgements, a buggy retry loop)',
    patient: { condition: 'healthy', programmes: [] },
    model: 'scale',
    expects: [{ kind: 'stored', type: 'weight', count: 1 }],
    run: async (d) => {
      const reading: WireReadingInput = { type: 'weight', time: iso(-MIN), value: 72.4, unit: 'kg', id: 'same-one' };
      await Promise.all(Array.from({ length: 25 }, () => d.publish(reading)));
    },
  },
  {
    name: 'bad-device',
    summary: 'a broken or hostile device: malformed JSON, a wrong unit, an impossible value, a foreign topic, a wrong secret',
    patient: { condition: 'healthy', programmes: [] },
    model: 'bp_cuff',
    expects: [
      { kind: 'rejection', code: 'VIGIL_ERR_NOT_JSON' },
      { kind: 'rejection', code: 'VIGIL_ERR_SCHEMA' },
      { kind: 'rejection', code: 'VIGIL_ERR_OUT_OF_RANGE' },
      { kind: 'rejection', code: 'VIGIL_ERR_BP_ORDER' },
      { kind: 'refused', what: 'publish to another device topic' },
      { kind: 'refused', what: 'connect with a wrong secret' },
      { kind: 'stored', type: 'blood_pressure', count: 1 },
    ],
    run: async (d, ctx) => {
      await d.publishRaw(d.topic('readings'), '{"type":"blood_pressure","systolic":');
      await d.publishRaw(d.topic('readings'), JSON.stringify({ type: 'weight', time: iso(), value: 80, unit: 'stone' }));
      await d.publishRaw(d.topic('readings'), JSON.stringify({ type: 'blood_pressure', time: iso(), systolic: 420, diastolic: 90 }));
      await d.publishRaw(d.topic('readings'), JSON.stringify({ type: 'blood_pressure', time: iso(), systolic: 80, diastolic: 120 }));
      await d.publish({ type: 'blood_pressure', time: iso(), systolic: 124, diastolic: 78, id: 'the-good-one' });
      await d.publishRaw(d.topic('readings', 'someone-else'), JSON.stringify({ type: 'blood_pressure', time: iso(), systolic: 120, diastolic: 80 }), 0).then(
        () => undefined,
        () => ctx.observe('publish to another device topic'),
      );
      const wrong = await tryConnect(ctx.conn, { clientId: `${d.spec.deviceId}.probe`, username: d.spec.deviceId, password: `${d.spec.secret}-wrong` });
      if (wrong === 'refused') ctx.observe('connect with a wrong secret');
      await d.waitConnected();
      await sleep(200);
    },
  },
];

export function findScenario(name: string): Scenario | undefined {
  return SCENARIOS.find((s) => s.name === name);
}
