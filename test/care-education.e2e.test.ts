import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inboxMessageSchema, patientCareSchema, type InboxMessage } from '../domain/index.js';
import { login, type DashboardSession } from './support/dashboard-client.js';
import { waitFor } from './support/temp.js';
import { listenErrors, startTestVigil, type TestVigil } from './support/vigil.js';

const MINUTE = 60_000;
const PASSWORD = 'correct horse battery staple';
const topic = (deviceId: string, kind: string) => `rpm/v1/devices/${deviceId}/${kind}`;
const hhmm = (t: number) => new Date(t).toISOString().slice(11, 16);
const minuteStart = (t: number) => Math.floor(t / MINUTE) * MINUTE;

describe('education items: attached to the plan or to an alert rule, delivered to the hub over real MQTT, audited', () => {
  let t: TestVigil;
  let card: DashboardSession;
  let patientId: string;
  let hub: MqttClient;
  const inbox: InboxMessage[] = [];
  const base = () => `/api/patients/${patientId}/care`;

  beforeAll(async () => {
    // The care loop is driven by the test's ticks; the cron never fires during it.
    t = await startTestVigil({ VIGIL_CARE_CRON: '0 0 0 1 1 *' });
    const patient = await t.vigil.registry.addPatient({ name: 'Edu Example', careTeam: 'cardiology', timeZone: 'UTC', programmes: ['hypertension'] });
    patientId = patient.id;
    const device = await t.vigil.registry.addDevice({ patientId, id: 'hub-edu', kind: 'hub' });
    await t.vigil.users.add({ username: 'card', role: 'clinician', careTeams: ['cardiology'], password: PASSWORD });
    card = await login(t.httpUrl, 'card', PASSWORD);
    hub = await t.connectDevice({ deviceId: device.device.id, secret: device.secret });
    hub.on('message', (tp, payload) => {
      // Every payload Vigil sends must pass the protocol's own schema (docs/hub-protocol.md).
      if (tp === topic('hub-edu', 'inbox')) inbox.push(inboxMessageSchema.parse(JSON.parse(payload.toString('utf8'))));
    });
    await hub.subscribeAsync(topic('hub-edu', 'inbox'), { qos: 1 });
  });
  afterAll(async () => {
    await t?.stop();
  });

  it('refuses an item on an unknown rule or with a non-https link', async () => {
    const typo = await card.request('POST', `${base()}/education`, { attachTo: 'bp.crsis', title: 'x', body: 'y' });
    expect(typo.status).toBe(400);
    expect((typo.body as { message: string }).message).toContain('neither "plan" nor an alert rule');
    expect((await card.request('POST', `${base()}/education`, { attachTo: 'plan', title: 'x', body: 'y', link: 'http://example.org/' })).status).toBe(400);
    expect(t.vigil.care.education.of(patientId)).toEqual([]);
  });

  it('sends the plan items with reminders and a rule\'s items with a message about its alert, each only there', async () => {
    const add = async (item: object) => {
      const res = await card.request<{ id: string }>('POST', `${base()}/education`, item);
      expect(res.status).toBe(201);
      return res.body.id;
    };
    const planItem = await add({ attachTo: 'plan', title: 'Measuring your blood pressure', body: 'Sit for 5 minutes first, arm supported at heart level.', link: 'https://www.bhf.org.uk/' });
    const crisisItem = await add({ attachTo: 'bp.crisis', title: 'Very high blood pressure', body: 'Sit quietly for 5 minutes and measure again. If it is still above 180/120, call 999.' });
    await add({ attachTo: 'bp.hypotension', title: 'Low blood pressure', body: 'Sit or lie down; drink some water.' });

    // A reminder to measure carries the plan's item, and nothing else.
    const now = Date.now();
    const due = minuteStart(now);
    t.vigil.care.plans.set(patientId, 'custom', [{ type: 'blood_pressure', times: [hhmm(due)], windowMinutes: 30 }], 'user:dr', due - 1);
    expect((await t.vigil.care.tick(now)).reminders).toBe(1);
    const reminder = await waitFor(() => inbox.find((m) => m.kind === 'measure_reminder'), { what: 'the reminder' });
    expect(reminder.education).toEqual([{ id: planItem, title: 'Measuring your blood pressure', body: 'Sit for 5 minutes first, arm supported at heart level.', link: 'https://www.bhf.org.uk/' }]);

    // A crisis reading opens bp.crisis; a message about that alert carries the crisis item only.
    const cuff = await t.vigil.registry.addDevice({ patientId, id: 'cuff-edu' });
    const cuffClient = await t.connectDevice({ deviceId: cuff.device.id, secret: cuff.secret });
    const errors = await listenErrors(cuffClient, cuff.device.id);
    await cuffClient.publishAsync(topic(cuff.device.id, 'readings'), JSON.stringify({ type: 'blood_pressure', time: new Date().toISOString(), systolic: 192, diastolic: 124 }), { qos: 1 });
    const alert = await waitFor(() => t.vigil.alerts.queries.list({ patientId }).find((a) => a.ruleId === 'bp.crisis'), { what: `the crisis alert ${JSON.stringify(errors)}` });
    const sent = await card.request<{ id: string }>('POST', `${base()}/messages`, { text: 'Your reading was very high. Please re-measure now.', measure: 'blood_pressure', alertId: alert.id });
    expect(sent.status).toBe(201);
    const message = await waitFor(() => inbox.find((m) => m.id === sent.body.id), { what: 'the message about the alert' });
    expect(message.kind === 'message' && message.education?.map((e) => e.id)).toEqual([crisisItem]);
    // A message about nothing in particular carries no items.
    const plain = await card.request<{ id: string }>('POST', `${base()}/messages`, { text: 'How are you today?' });
    expect(await waitFor(() => inbox.find((m) => m.id === plain.body.id), { what: 'the plain message' })).not.toHaveProperty('education');

    // Removed from the plan: the next reminder (a dose) goes without it.
    expect((await card.request('DELETE', `${base()}/education/${planItem}`)).status).toBe(200);
    t.vigil.care.medications.add(patientId, { name: 'Ramipril', dose: '5 mg', times: [hhmm(due)], windowMinutes: 30, class: 'antihypertensive' }, 'user:dr', due - 1);
    await t.vigil.care.tick(now);
    expect(await waitFor(() => inbox.find((m) => m.kind === 'medication_reminder'), { what: 'the dose reminder' })).not.toHaveProperty('education');

    const care = patientCareSchema.parse((await card.request('GET', base())).body);
    expect(care.education.map((e) => e.attachTo).sort()).toEqual(['bp.crisis', 'bp.hypotension']);
    const actions = t.vigil.audit.list({ patientId }).map((e) => e.action);
    expect(actions.filter((a) => a.startsWith('care.education'))).toEqual(['care.education.remove', 'care.education.add', 'care.education.add', 'care.education.add']);
    expect((await card.request('DELETE', `${base()}/education/${planItem}`)).status).toBe(404);
  });
});
