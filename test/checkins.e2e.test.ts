import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { InboxMessage } from '../domain/index.js';
import { SimulatedHubApp } from '../simulators/index.js';
import { waitFor } from './support/temp.js';
import { listenErrors, startTestVigil, type TestVigil } from './support/vigil.js';

const MINUTE = 60_000;
const DAY = 24 * 60 * MINUTE;
const topic = (deviceId: string, kind: string) => `rpm/v1/devices/${deviceId}/${kind}`;
/** "HH:MM" of an instant in UTC (test patients live in UTC). */
const hhmm = (t: number) => new Date(t).toISOString().slice(11, 16);
const minuteStart = (t: number) => Math.floor(t / MINUTE) * MINUTE;
type Checkin = Extract<InboxMessage, { kind: 'checkin' }>;

describe('symptom check-ins over real MQTT: plan, inbox, answers', () => {
  let t: TestVigil;
  beforeAll(async () => {
    // The schedule is driven by the tests (tick with a chosen clock); the cron never fires during a test.
    t = await startTestVigil({ VIGIL_CARE_CRON: '0 0 0 1 1 *' });
  });
  afterAll(async () => {
    await t?.stop();
  });

  async function patientWithHub(name: string) {
    const patient = await t.vigil.registry.addPatient({ name, timeZone: 'UTC', programmes: ['heart_failure'] });
    const hub = await t.vigil.registry.addDevice({ patientId: patient.id, id: `hub-${name}`, kind: 'hub' });
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
    await client.subscribeAsync(topic(creds.deviceId, 'inbox'), { qos: 1 });
    return { patientId: patient.id, hubId: creds.deviceId, client, inbox, connectHub };
  }

  it('audits every change to the check-ins of a plan, and refuses a bad one with the problem named', async () => {
    const patient = await t.vigil.registry.addPatient({ name: 'Audra', timeZone: 'UTC' });
    t.vigil.care.checkins.plans.set(patient.id, [{ questionnaire: 'hf_daily', times: ['08:30'] }], 'user:dr', 1_000);
    t.vigil.care.checkins.plans.set(patient.id, [{ questionnaire: 'hf_daily', times: ['09:00', '18:00'], days: ['mon', 'thu'] }], 'user:nurse', 2_000);
    const audit = t.vigil.audit.list({ patientId: patient.id }).filter((e) => e.action.startsWith('care.checkins'));
    expect(audit.map((e) => [e.action, e.actor])).toEqual(
      expect.arrayContaining([
        ['care.checkins.create', 'user:dr'],
        ['care.checkins.update', 'user:nurse'],
      ]),
    );
    const update = audit.find((e) => e.action === 'care.checkins.update')!;
    expect(JSON.stringify(update.details)).toContain('"before":[{"questionnaire":"hf_daily","times":["08:30"]');
    expect(() => t.vigil.care.checkins.plans.set(patient.id, [{ questionnaire: 'asthma', times: ['08:00'] }], 'user:dr', 3_000)).toThrow(/questionnaire/);
    expect(() => t.vigil.care.checkins.plans.set(patient.id, [{ questionnaire: 'hf_daily', times: ['8:00'] }], 'user:dr', 3_000)).toThrow(/times/);
    expect(t.vigil.care.checkins.plans.get(patient.id)?.checkins[0]).toMatchObject({ times: ['09:00', '18:00'], days: ['mon', 'thu'], windowMinutes: 180 });
  });

  it('delivers a check-in with its questions and answer codes to a hub that was offline, when it reconnects', async () => {
    const p = await patientWithHub('bea');
    const now = Date.now();
    const due = minuteStart(now);
    t.vigil.care.checkins.plans.set(p.patientId, [{ questionnaire: 'hf_daily', times: [hhmm(due)], windowMinutes: 60 }], 'user:dr', due - 1);
    await p.client.endAsync();
    expect((await t.vigil.care.tick(now)).reminders).toBe(1);
    await p.connectHub();
    const checkin = (await waitFor(() => p.inbox.find((m) => m.kind === 'checkin'), { what: 'the check-in after reconnecting' })) as Checkin;
    expect(checkin).toMatchObject({ v: 1, kind: 'checkin', dueAt: new Date(due).toISOString(), questionnaire: { id: 'hf_daily' } });
    expect(Date.parse(checkin.expiresAt)).toBe(due + 60 * MINUTE);
    expect(checkin.questionnaire.questions.map((q) => q.id)).toEqual(['breathlessness', 'ankle_swelling', 'orthopnoea']);
    expect(checkin.questionnaire.questions[0]!.answers.map((a) => a.code)).toEqual(['better', 'same', 'worse', 'much_worse']);
    // Once per slot.
    expect((await t.vigil.care.tick(now + MINUTE)).reminders).toBe(0);
  });

  it('does not deliver a check-in that expired while the hub was offline', async () => {
    const p = await patientWithHub('cal');
    await p.client.endAsync();
    // Yesterday's check-in, queued by a tick that ran then: its window closed long before the hub comes back.
    const then = Date.now() - DAY;
    const due = minuteStart(then);
    t.vigil.care.checkins.plans.set(p.patientId, [{ questionnaire: 'hf_daily', times: [hhmm(due)], windowMinutes: 15 }], 'user:dr', due - 1);
    expect((await t.vigil.care.tick(then)).reminders).toBe(1);
    const [queued] = t.vigil.care.inbox.recent(p.patientId, 5);
    expect(queued).toMatchObject({ kind: 'checkin' });
    expect(queued!.sentAt).not.toBeNull();
    const fresh = await t.vigil.care.sendMessage(p.patientId, { text: 'still valid' }, 'user:dr', 'Care team');
    await p.connectHub();
    await waitFor(() => p.inbox.some((m) => m.id === fresh.id), { what: 'the fresh message' });
    expect(p.inbox.map((m) => m.id)).toEqual([fresh.id]);
  });

  it('stores the answers as coded observations before the PUBACK; a resend changes nothing', async () => {
    const p = await patientWithHub('dee');
    const now = Date.now();
    const due = minuteStart(now);
    t.vigil.care.checkins.plans.set(p.patientId, [{ questionnaire: 'hf_daily', times: [hhmm(due)] }], 'user:dr', due - 1);
    await t.vigil.care.tick(now);
    const checkin = await waitFor(() => p.inbox.find((m) => m.kind === 'checkin'), { what: 'the check-in' });
    const answer = JSON.stringify({
      v: 1,
      type: 'checkin',
      ref: checkin.id,
      at: new Date(now).toISOString(),
      answers: [
        { question: 'breathlessness', answer: 'worse' },
        { question: 'ankle_swelling', answer: 'no' },
        { question: 'orthopnoea', answer: 'yes' },
      ],
    });
    await p.client.publishAsync(topic(p.hubId, 'replies'), answer, { qos: 1 });
    // The PUBACK came: the answers are recorded already.
    const stored = t.vigil.care.checkins.answersTo(checkin.id);
    expect(stored.map((o) => [o.question, o.answer, o.score, o.codeSystem, o.code])).toEqual([
      ['ankle_swelling', 'no', 0, 'urn:vigil:checkin-item', 'hf-ankle-swelling'],
      ['breathlessness', 'worse', 1, 'urn:vigil:checkin-item', 'hf-breathlessness-change'],
      ['orthopnoea', 'yes', 1, 'urn:vigil:checkin-item', 'hf-orthopnoea'],
    ]);
    expect(stored[0]!.at).toBe(now);
    await p.client.publishAsync(topic(p.hubId, 'replies'), answer, { qos: 1 });
    expect(t.vigil.care.checkins.answers(p.patientId, 0, now + DAY)).toHaveLength(3);
    expect(t.vigil.care.checkins.worseBreathingAt(p.patientId, now - DAY, now + 1)).toBe(now);
  });

  it('refuses a bad answer with VIGIL_ERR_BAD_REPLY on the hub\'s errors topic, storing none of it', async () => {
    const p = await patientWithHub('eli');
    const errors = await listenErrors(p.client, p.hubId);
    const now = Date.now();
    const due = minuteStart(now);
    t.vigil.care.checkins.plans.set(p.patientId, [{ questionnaire: 'hf_daily', times: [hhmm(due)] }], 'user:dr', due - 1);
    await t.vigil.care.tick(now);
    const checkin = await waitFor(() => p.inbox.find((m) => m.kind === 'checkin'), { what: 'the check-in' });
    const send = (body: object) => p.client.publishAsync(topic(p.hubId, 'replies'), JSON.stringify({ v: 1, type: 'checkin', ref: checkin.id, at: new Date().toISOString(), ...body }), { qos: 1 });
    // An answer code the question does not offer (with a good one beside it: the whole reply is refused).
    await send({ answers: [{ question: 'ankle_swelling', answer: 'no' }, { question: 'breathlessness', answer: 'terrible' }] });
    // No answers at all: the schema refuses it.
    await send({ answers: [] });
    // A question of another questionnaire.
    await send({ answers: [{ question: 'sputum_colour', answer: 'green' }] });
    await waitFor(() => errors.length >= 3, { what: 'three rejections' });
    expect(errors.map((e) => e.code)).toEqual(['VIGIL_ERR_BAD_REPLY', 'VIGIL_ERR_BAD_REPLY', 'VIGIL_ERR_BAD_REPLY']);
    expect(errors[0]).toMatchObject({ ref: checkin.id });
    expect(errors[0]!.message).toContain('terrible is not an answer to breathlessness');
    expect(errors[2]!.message).toContain('no question sputum_colour');
    expect(t.vigil.care.checkins.answersTo(checkin.id)).toEqual([]);
    // Answers to a message that is not a check-in.
    const msg = await t.vigil.care.sendMessage(p.patientId, { text: 'hello' }, 'user:dr', 'Care team');
    await p.client.publishAsync(topic(p.hubId, 'replies'), JSON.stringify({ v: 1, type: 'checkin', ref: msg.id, at: new Date().toISOString(), answers: [{ question: 'orthopnoea', answer: 'no' }] }), { qos: 1 });
    await waitFor(() => errors.length >= 4, { what: 'the wrong-kind rejection' });
    expect(errors[3]).toMatchObject({ ref: msg.id, code: 'VIGIL_ERR_BAD_REPLY' });
  });

  it('simulated hub app: answers a check-in with codes of the questionnaire, with its adherence', async () => {
    const patient = await t.vigil.registry.addPatient({ name: 'Flo', timeZone: 'UTC', programmes: ['copd'] });
    const hub = await t.vigil.registry.addDevice({ patientId: patient.id, id: 'hub-flo', kind: 'hub' });
    const app = new SimulatedHubApp({ hubId: 'hub-flo', secret: hub.secret, seed: 3, measureAdherence: 0, medicationAdherence: 0, checkinAdherence: 1 }, { url: t.mqttUrl, topicPrefix: 'rpm/v1' }, async () => undefined);
    await app.start();
    try {
      const now = Date.now();
      const due = minuteStart(now);
      t.vigil.care.checkins.plans.set(patient.id, [{ questionnaire: 'copd_daily', times: [hhmm(due)] }], 'user:dr', due - 1);
      await t.vigil.care.tick(now);
      const answers = await waitFor(() => {
        const stored = t.vigil.care.checkins.answers(patient.id, 0, Date.now() + DAY);
        return stored.length === 2 ? stored : undefined;
      }, { what: 'the simulated answers' });
      expect(answers.map((a) => a.question).sort()).toEqual(['breathlessness_exertion', 'sputum_colour']);
      expect(answers.find((a) => a.question === 'breathlessness_exertion')).toMatchObject({ codeSystem: 'http://snomed.info/sct', code: '870179002' });
      expect(app.stats.checkins).toBe(1);
    } finally {
      await app.stop();
    }
  });
});
