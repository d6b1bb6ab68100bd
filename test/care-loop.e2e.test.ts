import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openState } from '../app/state.js';
import type { InboxMessage, ReadingType } from '../domain/index.js';
import { SimulatedHubApp } from '../simulators/index.js';
import { waitFor } from './support/temp.js';
import { listenErrors, startTestVigil, type TestVigil } from './support/vigil.js';

const MINUTE = 60_000;
const topic = (deviceId: string, kind: string) => `rpm/v1/devices/${deviceId}/${kind}`;
/** "HH:MM" of an instant in UTC (test patients live in UTC). */
const hhmm = (t: number) => new Date(t).toISOString().slice(11, 16);
const minuteStart = (t: number) => Math.floor(t / MINUTE) * MINUTE;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('care loop over real MQTT: hub inbox, reminders, doses, messages', () => {
  let t: TestVigil;
  beforeAll(async () => {
    // The schedule is driven by the tests (tick with a chosen clock); the cron never fires during a test.
    t = await startTestVigil({ VIGIL_CARE_CRON: '0 0 0 1 1 *' });
  });
  afterAll(async () => {
    await t?.stop();
  });

  /** A patient with a hub (and a cuff), the hub connected with a persistent session and subscribed to its inbox. */
  async function patientWithHub(name: string) {
    const patient = await t.vigil.registry.addPatient({ name, timeZone: 'UTC' });
    const hub = await t.vigil.registry.addDevice({ patientId: patient.id, id: `hub-${name}`, kind: 'hub' });
    const cuff = await t.vigil.registry.addDevice({ patientId: patient.id, id: `cuff-${name}` });
    const creds = { deviceId: hub.device.id, secret: hub.secret };
    const inbox: InboxMessage[] = [];
    const connectHub = async () => {
      const client = await t.connectDevice(creds);
      client.on('message', (tp, payload) => {
        if (tp === topic(creds.deviceId, 'inbox')) inbox.push(JSON.parse(payload.toString('utf8')) as InboxMessage);
      });
      return client;
    };
    const client = await connectHub();
    const [granted] = await client.subscribeAsync(topic(creds.deviceId, 'inbox'), { qos: 1 });
    expect(granted?.qos).toBe(1);
    return { patientId: patient.id, hubId: creds.deviceId, cuff: { deviceId: cuff.device.id, secret: cuff.secret }, client, inbox, connectHub };
  }

  it('lets a hub read its own inbox only: another hub\'s inbox, and an ordinary device\'s, are refused', async () => {
    const a = await patientWithHub('ana');
    const b = await patientWithHub('ben');
    // SUBACK 0x80 (failure): mqtt.js rejects the subscription.
    await expect(a.client.subscribeAsync(topic(b.hubId, 'inbox'), { qos: 1 })).rejects.toThrow(/Subscribe error/);
    const cuff = await t.connectDevice(a.cuff);
    await expect(cuff.subscribeAsync(topic(a.cuff.deviceId, 'inbox'), { qos: 1 })).rejects.toThrow(/Subscribe error/);
    // A message for b never reaches a.
    await t.vigil.care.sendMessage(b.patientId, { text: 'for Ben only' }, { name: 'user:dr' }, 'Care team');
    await waitFor(() => b.inbox.length === 1, { what: "b's message" });
    expect(a.inbox).toHaveLength(0);
  });

  it('delivers a reminder to measure to a hub that was offline, when it reconnects', async () => {
    const p = await patientWithHub('cara');
    const now = Date.now();
    const due = minuteStart(now);
    t.vigil.care.plans.set(p.patientId, 'custom', [{ type: 'blood_pressure', times: [hhmm(due)], windowMinutes: 30 }], 'user:dr', due - 1);
    await p.client.endAsync();
    const { reminders } = await t.vigil.care.tick(now);
    expect(reminders).toBe(1);
    expect(p.inbox).toHaveLength(0);
    await p.connectHub();
    const reminder = await waitFor(() => p.inbox.find((m) => m.kind === 'measure_reminder'), { what: 'the reminder after reconnecting' });
    expect(reminder).toMatchObject({ v: 1, kind: 'measure_reminder', measurement: 'blood_pressure', dueAt: new Date(due).toISOString() });
    expect(Date.parse(reminder.expiresAt)).toBe(due + 30 * MINUTE);
    // Once per slot: another tick in the same window sends nothing.
    expect((await t.vigil.care.tick(now + MINUTE)).reminders).toBe(0);
  });

  it('sends no reminder when the reading already came in the window', async () => {
    const p = await patientWithHub('dan');
    const now = Date.now();
    const due = minuteStart(now);
    t.vigil.care.plans.set(p.patientId, 'custom', [{ type: 'blood_pressure', times: [hhmm(due)], windowMinutes: 30 }], 'user:dr', due - 1);
    const cuff = await t.connectDevice(p.cuff);
    const errors = await listenErrors(cuff, p.cuff.deviceId);
    await cuff.publishAsync(topic(p.cuff.deviceId, 'readings'), JSON.stringify({ type: 'blood_pressure', time: new Date(now - 5 * MINUTE).toISOString(), systolic: 128, diastolic: 80 }), { qos: 1 });
    await waitFor(async () => (await t.vigil.ingest.store.queryRaw({ patientId: p.patientId, type: 'blood_pressure', from: 0, to: now + 1 })).length > 0, { what: `the reading stored ${JSON.stringify(errors)}` });
    expect((await t.vigil.care.tick(now)).reminders).toBe(0);
    const adherence = await t.vigil.care.adherence(p.patientId, 7, due + 31 * MINUTE);
    expect(adherence.measurements).toEqual([{ type: 'blood_pressure', continuous: false, planned: 1, arrived: 1, share: 1 }]);
  });

  it('does not deliver an expired message to a hub that comes back too late', async () => {
    const p = await patientWithHub('eve');
    await p.client.endAsync();
    const created = Date.now();
    const id = 'msg-expiring-1';
    const message: InboxMessage = { v: 1, id, kind: 'message', created: new Date(created).toISOString(), expiresAt: new Date(created + 300).toISOString(), text: 'soon stale', from: 'Care team' };
    t.vigil.care.inbox.add({ id, patientId: p.patientId, hubId: p.hubId, message, subject: '', dueAt: null, windowEndsAt: null, createdAt: created, expiresAt: created + 300 });
    await t.vigil.care.tick();
    expect(t.vigil.care.inbox.get(id)?.sentAt).not.toBeNull();
    await sleep(500);
    // A fresh message queued behind it: when it arrives, the expired one would have come first.
    const fresh = await t.vigil.care.sendMessage(p.patientId, { text: 'still valid' }, { name: 'user:dr' }, 'Care team');
    await p.connectHub();
    await waitFor(() => p.inbox.some((m) => m.id === fresh.id), { what: 'the fresh message' });
    expect(p.inbox.map((m) => m.id)).toEqual([fresh.id]);
  });

  it('counts a dose with no answer by the end of its window as missed, and a taken one as taken', async () => {
    const p = await patientWithHub('finn');
    const now = Date.now();
    const due = minuteStart(now);
    const med = t.vigil.care.medications.add(p.patientId, { name: 'Ramipril', dose: '5 mg', times: [hhmm(due)], windowMinutes: 30 }, 'user:dr', due - 1);
    expect((await t.vigil.care.tick(now)).reminders).toBe(1);
    const reminder = await waitFor(() => p.inbox.find((m) => m.kind === 'medication_reminder'), { what: 'the dose reminder' });
    expect(reminder).toMatchObject({ medication: { id: med.id, name: 'Ramipril', dose: '5 mg' } });
    // Snoozed, then nothing: missed once the window has closed.
    await p.client.publishAsync(topic(p.hubId, 'replies'), JSON.stringify({ v: 1, type: 'snoozed', ref: reminder.id, at: new Date().toISOString(), minutes: 10 }), { qos: 1 });
    expect(t.vigil.care.inbox.get(reminder.id)?.answer).toBe('snoozed');
    expect((await t.vigil.care.tick(due + 31 * MINUTE)).missed).toBe(1);
    const [adherence] = (await t.vigil.care.adherence(p.patientId, 7, due + 31 * MINUTE)).medications;
    expect(adherence).toMatchObject({ medicationId: med.id, taken: 0, missed: 1, share: 0 });
    // A second medication, answered in time: taken.
    const other = t.vigil.care.medications.add(p.patientId, { name: 'Bisoprolol', dose: '2.5 mg', times: [hhmm(due)], windowMinutes: 30 }, 'user:dr', due - 1);
    await t.vigil.care.tick(now);
    const second = await waitFor(() => p.inbox.find((m) => m.kind === 'medication_reminder' && m.medication.id === other.id), { what: 'the second reminder' });
    await p.client.publishAsync(topic(p.hubId, 'replies'), JSON.stringify({ v: 1, type: 'taken', ref: second.id, at: new Date().toISOString() }), { qos: 1 });
    const figures = (await t.vigil.care.adherence(p.patientId, 7, due + 31 * MINUTE)).medications.find((m) => m.medicationId === other.id);
    expect(figures).toMatchObject({ taken: 1, missed: 0, share: 1 });
  });

  it('shows a message with its delivery and read receipts, and the patient\'s reply in the thread', async () => {
    const p = await patientWithHub('gia');
    const sent = await t.vigil.care.sendMessage(p.patientId, { text: 'Please re-measure in 15 minutes', measure: 'blood_pressure' }, { name: 'user:dr' }, 'Dr Example');
    const received = await waitFor(() => p.inbox.find((m) => m.id === sent.id), { what: 'the message' });
    expect(received).toMatchObject({ kind: 'message', text: 'Please re-measure in 15 minutes', measure: 'blood_pressure' });
    const reply = (body: object) => p.client.publishAsync(topic(p.hubId, 'replies'), JSON.stringify({ v: 1, at: new Date().toISOString(), ...body }), { qos: 1 });
    await reply({ type: 'delivered', ref: sent.id });
    expect(t.vigil.care.inbox.get(sent.id)).toMatchObject({ readAt: null });
    expect(t.vigil.care.inbox.get(sent.id)?.deliveredAt).toBeGreaterThan(0);
    await reply({ type: 'read', ref: sent.id });
    expect(t.vigil.care.inbox.get(sent.id)?.readAt).toBeGreaterThan(0);
    await reply({ type: 'message', ref: sent.id, text: 'Done, 131/84' });
    const thread = t.vigil.care.messages.thread(p.patientId);
    expect(thread.map((m) => [m.direction, m.text])).toEqual([
      ['to_patient', 'Please re-measure in 15 minutes'],
      ['from_patient', 'Done, 131/84'],
    ]);
    const audit = t.vigil.audit.list({ patientId: p.patientId }).map((e) => e.action);
    expect(audit).toEqual(expect.arrayContaining(['care.message.send', 'care.message.receive']));
  });

  it('refuses a bad reply with a coded reason on the hub\'s errors topic, and a reply to another hub\'s message', async () => {
    const p = await patientWithHub('hal');
    const q = await patientWithHub('ida');
    const errors = await listenErrors(p.client, p.hubId);
    await p.client.publishAsync(topic(p.hubId, 'replies'), JSON.stringify({ v: 1, type: 'taken', at: 'yesterday', ref: 'x' }), { qos: 1 });
    await waitFor(() => errors.length >= 1, { what: 'the schema rejection' });
    expect(errors[0]).toMatchObject({ ref: 'x', code: 'VIGIL_ERR_BAD_REPLY' });
    const theirs = await t.vigil.care.sendMessage(q.patientId, { text: 'for Ida' }, { name: 'user:dr' }, 'Care team');
    await p.client.publishAsync(topic(p.hubId, 'replies'), JSON.stringify({ v: 1, type: 'read', ref: theirs.id, at: new Date().toISOString() }), { qos: 1 });
    await waitFor(() => errors.length >= 2, { what: 'the foreign-reference rejection' });
    expect(errors[1]).toMatchObject({ ref: theirs.id, code: 'VIGIL_ERR_BAD_REPLY' });
    expect(t.vigil.care.inbox.get(theirs.id)?.readAt).toBeNull();
    // Kept in the rejection log like a refused reading, for the hub's patient, and never replayed as readings.
    const kept = t.vigil.ingest.rejections.recent({ deviceId: p.hubId });
    expect(kept.map((r) => ({ topic: r.topic, patientId: r.patientId, ref: r.ref, code: r.code }))).toEqual([
      { topic: 'replies', patientId: p.patientId, ref: theirs.id, code: 'VIGIL_ERR_BAD_REPLY' },
      { topic: 'replies', patientId: p.patientId, ref: 'x', code: 'VIGIL_ERR_BAD_REPLY' },
    ]);
    expect(t.vigil.ingest.rejections.requestReplay({ deviceId: p.hubId })).toEqual({ ids: [], skipped: 2 });
  });

  it('drives the missing-data rule by the plan: two planned BP measurements missed raise missing.blood_pressure before 48 h', async () => {
    const patient = await t.vigil.registry.addPatient({ name: 'Jo', timeZone: 'UTC', programmes: ['hypertension', 'copd'] });
    await t.vigil.registry.addDevice({ patientId: patient.id, id: 'cuff-jo' });
    // Enrolled and equipped a day ago (written as the CLI would, through its own connection).
    const dayAgo = Date.now() - 24 * 60 * MINUTE;
    const state = openState(t.dataDir);
    state.db.prepare('UPDATE patient_programmes SET enrolled_at = ? WHERE patient_id = ?').run(dayAgo, patient.id);
    state.db.prepare('UPDATE devices SET assigned_at = ? WHERE patient_id = ?').run(dayAgo, patient.id);
    state.db.close();
    // Planned every 4 hours: several slots have closed since the enrolment, with no reading. SpO2 is not planned.
    t.vigil.care.plans.set(patient.id, 'hypertension', [{ type: 'blood_pressure', times: ['00:00', '04:00', '08:00', '12:00', '16:00', '20:00'], windowMinutes: 30 }], 'user:dr', dayAgo);
    await t.vigil.alerts.evaluation.sweep();
    const alerts = t.vigil.alerts.queries.list({ patientId: patient.id });
    expect(alerts.map((a) => a.ruleId)).toEqual(['missing.blood_pressure']);
    expect(alerts[0]?.message).toMatch(/planned measurements missed in a row/);
  });

  it('simulated hub app: acknowledges, answers reminders with its adherence, reads messages and re-measures when asked', async () => {
    const patient = await t.vigil.registry.addPatient({ name: 'Kim', timeZone: 'UTC' });
    const hub = await t.vigil.registry.addDevice({ patientId: patient.id, id: 'hub-kim', kind: 'hub' });
    const measured: ReadingType[] = [];
    const app = new SimulatedHubApp({ hubId: 'hub-kim', secret: hub.secret, seed: 1, measureAdherence: 1, medicationAdherence: 1, replies: ['Done.'] }, { url: t.mqttUrl, topicPrefix: 'rpm/v1' }, async (type) => void measured.push(type));
    await app.start();
    try {
      const now = Date.now();
      const due = minuteStart(now);
      t.vigil.care.plans.set(patient.id, 'custom', [{ type: 'weight', times: [hhmm(due)] }], 'user:dr', due - 1);
      const med = t.vigil.care.medications.add(patient.id, { name: 'Furosemide', dose: '40 mg', times: [hhmm(due)] }, 'user:dr', due - 1);
      const item = t.vigil.care.education.add(patient.id, { attachTo: 'plan', title: 'Weighing yourself', body: 'Each morning, after the toilet, before breakfast.' }, 'user:dr', due - 1);
      await t.vigil.care.tick(now);
      await waitFor(async () => (await t.vigil.care.adherence(patient.id, 1)).medications[0]?.taken === 1, { what: 'the dose taken' });
      expect(measured).toEqual(['weight']);
      // The plan's item came with both reminders; the app keeps it once, by id.
      expect([...app.education.keys()]).toEqual([item.id]);
      const sent = await t.vigil.care.sendMessage(patient.id, { text: 'Please re-measure your blood pressure', measure: 'blood_pressure' }, 'user:dr', 'Dr Example');
      await waitFor(() => t.vigil.care.inbox.get(sent.id)?.readAt, { what: 'the read receipt' });
      await waitFor(() => measured.includes('blood_pressure'), { what: 'the re-measurement' });
      expect(app.stats).toMatchObject({ taken: 1, measured: 2, read: 1 });
      expect(t.vigil.care.medications.get(med.id)?.name).toBe('Furosemide');
    } finally {
      await app.stop();
    }
  });
});
