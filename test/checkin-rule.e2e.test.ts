import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { InboxMessage } from '../domain/index.js';
import { waitFor } from './support/temp.js';
import { listenErrors, startTestVigil, type TestVigil } from './support/vigil.js';

const HOUR = 3_600_000;
const topic = (deviceId: string, kind: string) => `rpm/v1/devices/${deviceId}/${kind}`;
const hhmm = (t: number) => new Date(t).toISOString().slice(11, 16);
const minuteStart = (t: number) => Math.floor(t / 60_000) * 60_000;
/** 07:00 UTC on the day `daysAgo` days before today: a morning weight (patients here live in UTC). */
const morning = (daysAgo: number) => Math.floor(Date.now() / (24 * HOUR)) * 24 * HOUR - daysAgo * 24 * HOUR + 7 * HOUR;

describe('the heart-failure rule with check-in symptoms (docs/alerts.md "Check-in symptoms")', () => {
  let t: TestVigil;
  beforeAll(async () => {
    t = await startTestVigil({ VIGIL_CARE_CRON: '0 0 0 1 1 *' });
  });
  afterAll(async () => {
    await t?.stop();
  });

  /** A heart-failure patient with a scale and a hub subscribed to its inbox; a daily check-in due now. */
  async function patient(name: string) {
    const p = await t.vigil.registry.addPatient({ name, timeZone: 'UTC', programmes: ['heart_failure'] });
    const scale = await t.vigil.registry.addDevice({ patientId: p.id, id: `scale-${name}` });
    const hub = await t.vigil.registry.addDevice({ patientId: p.id, id: `hub-${name}`, kind: 'hub' });
    const scaleClient = await t.connectDevice({ deviceId: scale.device.id, secret: scale.secret });
    const errors = await listenErrors(scaleClient, scale.device.id);
    const hubClient = await t.connectDevice({ deviceId: hub.device.id, secret: hub.secret });
    const inbox: InboxMessage[] = [];
    hubClient.on('message', (_tp, payload) => inbox.push(JSON.parse(payload.toString('utf8')) as InboxMessage));
    await hubClient.subscribeAsync(topic(hub.device.id, 'inbox'), { qos: 1 });
    const weigh = (time: number, kg: number) => scaleClient.publishAsync(topic(scale.device.id, 'readings'), JSON.stringify({ type: 'weight', time: new Date(time).toISOString(), value: kg, unit: 'kg', id: `w${time}` }), { qos: 1 });
    /** Answers a check-in due `minutesAgo` (a new slot each call: one check-in per slot). */
    const checkin = async (breathlessness: string, minutesAgo = 0) => {
      const due = minuteStart(Date.now()) - minutesAgo * 60_000;
      t.vigil.care.checkins.plans.set(p.id, [{ questionnaire: 'hf_daily', times: [hhmm(due)] }], 'user:dr', due - 1);
      const before = inbox.length;
      await t.vigil.care.tick(Date.now());
      const message = await waitFor(() => inbox.slice(before).find((m) => m.kind === 'checkin'), { what: 'the check-in' });
      await answer(hubClient, hub.device.id, message.id, breathlessness);
    };
    const weightAlert = () => t.vigil.alerts.queries.list({ patientId: p.id }).find((a) => a.ruleId === 'weight.gain' && a.status !== 'resolved');
    return { id: p.id, weigh, checkin, weightAlert, errors };
  }

  const answer = (client: MqttClient, hubId: string, ref: string, breathlessness: string) =>
    client.publishAsync(topic(hubId, 'replies'), JSON.stringify({ v: 1, type: 'checkin', ref, at: new Date().toISOString(), answers: [{ question: 'breathlessness', answer: breathlessness }, { question: 'orthopnoea', answer: 'no' }] }), { qos: 1 });

  it('raises the weight-gain alert to critical when breathing worse than usual is reported with the gain', async () => {
    const p = await patient('ruth');
    await p.weigh(morning(2), 80);
    await p.weigh(morning(1), 81.3);
    await waitFor(async () => (await t.vigil.ingest.store.queryRaw({ patientId: p.id, type: 'weight', from: 0, to: Date.now() })).length === 2, { what: `both weights stored ${JSON.stringify(p.errors)}` });
    const warning = await waitFor(() => p.weightAlert(), { what: 'the weight-gain alert' });
    expect(warning.severity).toBe('warning');
    await p.checkin('worse', 5);
    const raised = await waitFor(() => (p.weightAlert()?.severity === 'critical' ? p.weightAlert() : undefined), { what: 'the raised alert' });
    expect(raised.id).toBe(warning.id);
    expect(raised.message).toContain('breathing worse than usual reported in a check-in');
    // A later "better" does not lower it: only a person or the weight coming back resolves it.
    await p.checkin('better');
    await t.vigil.alerts.evaluation.onSymptoms(p.id);
    expect(p.weightAlert()?.severity).toBe('critical');
  });

  it('leaves it a warning when breathing is as usual, and raises nothing for breathlessness without a gain', async () => {
    const same = await patient('sam');
    await same.weigh(morning(2), 80);
    await same.weigh(morning(1), 81.3);
    await waitFor(() => same.weightAlert(), { what: 'the weight-gain alert' });
    await same.checkin('same');
    // The answer is stored (and evaluated) before the PUBACK; the rules ran on the queue after it.
    await t.vigil.alerts.evaluation.onSymptoms(same.id);
    expect(same.weightAlert()?.severity).toBe('warning');

    const steady = await patient('sid');
    await steady.weigh(morning(2), 80);
    await steady.weigh(morning(1), 80.2);
    await waitFor(async () => (await t.vigil.ingest.store.queryRaw({ patientId: steady.id, type: 'weight', from: 0, to: Date.now() })).length === 2, { what: 'both weights stored' });
    await steady.checkin('much_worse');
    await t.vigil.alerts.evaluation.onSymptoms(steady.id);
    expect(t.vigil.alerts.queries.list({ patientId: steady.id }).filter((a) => a.ruleId === 'weight.gain')).toEqual([]);
  });
});
