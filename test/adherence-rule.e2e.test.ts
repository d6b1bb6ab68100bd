import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Reading } from '../domain/index.js';
import { waitFor } from './support/temp.js';
import { listenErrors, startTestVigil, type TestVigil } from './support/vigil.js';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const RULE = 'adherence.antihypertensive_bp';
const hhmm = (t: number) => new Date(t).toISOString().slice(11, 16);
const minuteStart = (t: number) => Math.floor(t / MINUTE) * MINUTE;

describe('missed antihypertensive doses with a rising home BP raise an alert (real care loop, store and MQTT)', () => {
  let t: TestVigil;
  beforeAll(async () => {
    // The care loop is driven by the tests' ticks; the cron never fires during a test.
    t = await startTestVigil({ VIGIL_CARE_CRON: '0 0 0 1 1 *' });
  });
  afterAll(async () => {
    await t?.stop();
  });

  /** A hypertension patient (UTC) with a hub and a cuff, and home BP stored for the days before today. */
  async function patient(name: string, prior: number, recent: number, recentDays = 6) {
    const p = await t.vigil.registry.addPatient({ name, timeZone: 'UTC', programmes: ['hypertension'] });
    await t.vigil.registry.addDevice({ patientId: p.id, id: `hub-${name}`, kind: 'hub' });
    const cuff = await t.vigil.registry.addDevice({ patientId: p.id, id: `cuff-${name}` });
    const today = Math.floor(Date.now() / DAY) * DAY;
    const bp = (time: number, systolic: number): Reading => ({
      type: 'blood_pressure',
      deviceId: cuff.device.id,
      patientId: p.id,
      time,
      receivedAt: time,
      late: false,
      fields: { systolic, diastolic: 82 },
      tags: {},
    });
    const days = (from: number, n: number, systolic: number) => Array.from({ length: n }, (_, i) => bp(today - (from - i) * DAY + 8 * HOUR, systolic));
    await t.vigil.ingest.store.write([...days(13, 7, prior), ...days(6, recentDays, recent)]);
    return { patientId: p.id, cuff: { deviceId: cuff.device.id, secret: cuff.secret } };
  }

  /** `n` antihypertensive doses in the last hours, each reminded and left unanswered until its window closed. */
  async function missDoses(patientId: string, n: number) {
    const now = minuteStart(Date.now());
    const dues = Array.from({ length: n }, (_, i) => now - (n - i) * 40 * MINUTE);
    t.vigil.care.medications.add(patientId, { name: 'Amlodipine', dose: '5 mg', times: dues.map(hhmm), windowMinutes: 15, class: 'antihypertensive' }, 'user:dr', dues[0]! - MINUTE);
    for (const due of dues) await t.vigil.care.tick(due + MINUTE);
    expect((await t.vigil.care.tick(now)).missed).toBeGreaterThanOrEqual(1);
    expect(t.vigil.care.missedDoses(patientId, 'antihypertensive', now - DAY, now + 1)).toBe(n);
  }

  const alertsOf = (patientId: string) => t.vigil.alerts.queries.list({ patientId }).filter((a) => a.ruleId === RULE);
  /** Evaluations are queued one after the other: one more, awaited, means the earlier ones are done. */
  const settled = () => t.vigil.alerts.evaluation.onDosesMissed([]);

  it('opens a warning when 3 doses are counted missed and the home BP average has risen', async () => {
    const p = await patient('rising', 130, 141);
    await missDoses(p.patientId, 3);
    const alert = await waitFor(() => alertsOf(p.patientId)[0], { what: 'the adherence alert' });
    expect(alert).toMatchObject({ severity: 'warning', status: 'open' });
    expect(alert.message).toContain('3 missed antihypertensive doses in 7 days');
  });

  it('stays quiet with 3 missed doses and a flat BP, and with 2 missed doses and a rising BP', async () => {
    const flat = await patient('flat', 132, 133);
    await missDoses(flat.patientId, 3);
    const two = await patient('two', 130, 141);
    await missDoses(two.patientId, 2);
    await settled();
    expect(alertsOf(flat.patientId)).toEqual([]);
    expect(alertsOf(two.patientId)).toEqual([]);
  });

  it('is judged again when a BP reading arrives: the third day of a rise, after the doses were missed', async () => {
    // Only 2 days of the recent week measured: too few to judge a rise (at least 3).
    const p = await patient('late', 130, 145, 2);
    await missDoses(p.patientId, 3);
    await settled();
    expect(alertsOf(p.patientId)).toEqual([]);
    const cuff = await t.connectDevice(p.cuff);
    const errors = await listenErrors(cuff, p.cuff.deviceId);
    await cuff.publishAsync(`rpm/v1/devices/${p.cuff.deviceId}/readings`, JSON.stringify({ type: 'blood_pressure', time: new Date().toISOString(), systolic: 145, diastolic: 85 }), { qos: 1 });
    const alert = await waitFor(() => alertsOf(p.patientId)[0], { what: `the adherence alert after the reading ${JSON.stringify(errors)}` });
    expect(alert).toMatchObject({ severity: 'warning' });
  });
});
