import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Alert } from '../alerts/index.js';
import { tempDir, waitFor } from './support/temp.js';
import { startTestVigil, type TestVigil } from './support/vigil.js';
import { startWebhookReceiver } from './support/webhook-receiver.js';

const TOKEN = 'test-admin-token-0123456789abcdef';
const SECRET = 'webhook-secret-0123456789';
const MIN = 60_000;
const at = (minutesFromNow: number) => new Date(Date.now() + minutesFromNow * MIN).toISOString();

/**
 * The clinical review's cases (docs/alerts.md) over real MQTT, the HTTP API and the signed webhook: what a care
 * team's pager and dashboard receive. alerts/clinical-cases.test.ts plays the same on a fake clock.
 */
describe('alert safety end to end', () => {
  let t: TestVigil;
  let receiver: Awaited<ReturnType<typeof startWebhookReceiver>>;
  let dataDir: Awaited<ReturnType<typeof tempDir>>;

  const api = async (path: string, init: RequestInit = {}) => {
    const headers: Record<string, string> = { authorization: `Bearer ${TOKEN}`, 'x-vigil-actor': 'Nurse Joy', ...(init.body ? { 'content-type': 'application/json' } : {}) };
    const response = await fetch(`${t.httpUrl}${path}`, { ...init, headers });
    return { status: response.status, body: response.status === 204 ? undefined : ((await response.json()) as Record<string, unknown>) };
  };
  const put = (path: string, body: unknown) => api(path, { method: 'PUT', body: JSON.stringify(body) });
  const alertOf = async (patientId: string, ruleId: string) => ((await api(`/api/alerts?patient=${patientId}`)).body!.alerts as Alert[]).find((a) => a.ruleId === ruleId);
  const hooksOf = (alertId: number) => receiver.received.filter((d) => d.alert.id === alertId).map((d) => (d.change ? `${d.type}:${d.change}` : d.type));
  async function patient(programmes: string[] = []) {
    const dev = await t.provision();
    if (programmes.length) await t.vigil.registry.setProgrammes(dev.patientId, programmes);
    const client = await t.connectDevice(dev);
    return { ...dev, send: (readings: unknown) => client.publishAsync(`rpm/v1/devices/${dev.deviceId}/readings`, JSON.stringify(readings), { qos: 1 }) };
  }

  beforeAll(async () => {
    receiver = await startWebhookReceiver(SECRET);
    dataDir = await tempDir();
    t = await startTestVigil(
      { VIGIL_ADMIN_TOKEN: TOKEN, VIGIL_ALERT_WEBHOOK_URL: receiver.url, VIGIL_ALERT_WEBHOOK_SECRET: SECRET, VIGIL_ALERT_SWEEP_CRON: '* * * * * *', VIGIL_ALERT_ESCALATE_MINUTES: '0.02' },
      dataDir.path,
    );
  });
  afterAll(async () => {
    await t?.stop();
    await receiver?.close();
    await dataDir?.remove();
  });

  it('1. a second fall notifies on its own, and a worse crisis re-notifies an acknowledged alert with its values', async () => {
    const p = await patient(['hypertension']);
    await p.send({ type: 'fall', time: at(-12), confidence: 0.9, id: 'fall-1' });
    const fall = await waitFor(() => alertOf(p.patientId, 'fall.detected'), { what: 'the first fall' });
    expect((await api(`/api/alerts/${fall.id}/acknowledge`, { method: 'POST', body: '{"note":"she is fine"}' })).status).toBe(200);
    await p.send({ type: 'fall', time: at(0), confidence: 0.9, id: 'fall-2' });
    await waitFor(() => hooksOf(fall.id).includes('alert.renotified:event'), { what: 'the second fall at the webhook' });
    expect((await alertOf(p.patientId, 'fall.detected'))!.status).toBe('open');

    await p.send({ type: 'blood_pressure', time: at(-10), systolic: 190, diastolic: 110, id: 'bp-1' });
    const crisis = await waitFor(() => alertOf(p.patientId, 'bp.crisis'), { what: 'the crisis' });
    await api(`/api/alerts/${crisis.id}/acknowledge`, { method: 'POST', body: '{}' });
    await p.send({ type: 'blood_pressure', time: at(0), systolic: 230, diastolic: 130, id: 'bp-2' });
    const again = await waitFor(() => receiver.received.find((d) => d.alert.id === crisis.id && d.type === 'alert.renotified'), { what: 'the worse crisis at the webhook' });
    expect(again).toMatchObject({ change: 'worse_value', signatureValid: true, alert: { status: 'open', latestValues: { systolic: 230, diastolic: 130 } } });
    // The live channel replays the same transition from the event log.
    const events = (await api(`/api/alerts/events?after=0`)).body!.events as { type: string; change?: string; alert: { id: number } }[];
    expect(events.some((e) => e.alert.id === crisis.id && e.type === 'alert.renotified' && e.change === 'worse_value')).toBe(true);
  });

  it('refuses a rule override nested deeper than 32 levels with 400 VIGIL_ERR_TOO_DEEP, not a 500, and stores nothing', async () => {
    const p = await patient();
    // Built as text: JSON.stringify cannot write it, which is what answered 500 when the override was stored.
    // The depth is refused before anything else looks at the body (the key, which the rule does not have, would be
    // refused next).
    const body = `{"override":{"resolveAfterMinutes":5,"note":${'['.repeat(20_000)}${']'.repeat(20_000)}},"reason":"test"}`;
    const refused = await api(`/api/patients/${p.patientId}/rules/bp.crisis`, { method: 'PUT', body });
    expect(refused).toEqual({ status: 400, body: { code: 'VIGIL_ERR_TOO_DEEP', message: expect.stringMatching(/32 levels/) } });
    const rules = (await api(`/api/patients/${p.patientId}/rules`)).body as { overrides: unknown[] };
    expect(rules.overrides).toEqual([]);
  });

  it('2. a critical back in range latches until a person acknowledges it', async () => {
    const p = await patient();
    // A five-minute hold (instead of 60) so that the test fits in real time; the floor allows it.
    expect((await put(`/api/patients/${p.patientId}/rules/bp.crisis`, { override: { resolveAfterMinutes: 5 }, reason: 'test' })).status).toBe(200);
    await p.send([
      { type: 'blood_pressure', time: at(-14), systolic: 210, diastolic: 125, id: 'c' },
      { type: 'blood_pressure', time: at(-8), systolic: 140, diastolic: 88, id: 'n1' },
      { type: 'blood_pressure', time: at(-2), systolic: 136, diastolic: 86, id: 'n2' },
    ]);
    const latched = await waitFor(async () => {
      const a = await alertOf(p.patientId, 'bp.crisis');
      return a?.backInRangeAt && a;
    }, { what: 'the latched crisis' });
    expect(latched.status).toBe('open');
    await waitFor(() => hooksOf(latched.id).includes('alert.back_in_range'), { what: 'back in range at the webhook' });
    const ack = await api(`/api/alerts/${latched.id}/acknowledge`, { method: 'POST', body: '{"note":"phoned, BP fine now"}' });
    expect(ack.body!.alert).toMatchObject({ status: 'resolved', resolvedBy: 'admin:Nurse Joy' });
  });

  it('3. guideline critical limits are a floor; snoozes are bounded, need a reason, and never silence a critical', async () => {
    const p = await patient(['diabetes']);
    const off = await put(`/api/patients/${p.patientId}/rules/bp.crisis`, { override: { enabled: false }, reason: 'too many alerts' });
    expect(off).toMatchObject({ status: 422, body: { code: 'VIGIL_ERR_SAFETY_FLOOR' } });
    const below20 = { tiers: [{ severity: 'critical', match: 'any', conditions: [{ field: 'value', op: '<', value: 20 }] }] };
    const loose = await put(`/api/patients/${p.patientId}/rules/glucose.low`, { override: below20, reason: 'patient runs low' });
    expect(loose.status).toBe(422);
    expect(loose.body!.message).toMatch(/value < 54.*ADA/);
    expect((await put(`/api/patients/${p.patientId}/snoozes/bp.crisis`, { until: at(60), note: 'on holiday' })).status).toBe(422);
    expect((await put(`/api/patients/${p.patientId}/snoozes/glucose.low`, { until: at(48 * 60), note: 'long' })).status).toBe(400);
    expect((await put(`/api/patients/${p.patientId}/snoozes/glucose.low`, { until: at(60) })).status).toBe(400);
    expect((await put(`/api/patients/${p.patientId}/snoozes/glucose.low`, { until: at(60), note: 'treated, rechecking' })).status).toBe(200);
    await p.send({ type: 'glucose', time: at(-1), value: 45, unit: 'mg/dL', source: 'meter', id: 'g' });
    expect((await waitFor(() => alertOf(p.patientId, 'glucose.low'), { what: 'level 2 through the snooze' })).severity).toBe('critical');
    const record = (await api(`/api/patients/${p.patientId}`)).body!;
    expect(record.snoozes).toEqual([expect.objectContaining({ ruleId: 'glucose.low', actor: 'admin:Nurse Joy', note: 'treated, rechecking', tier: 'warning' })]);
  });

  it("4 and 5. a cuff's pulse of 32/min, SpO2 82 % and a meter's HI are alerts at the severity the sources give", async () => {
    const p = await patient();
    await p.send([
      { type: 'blood_pressure', time: at(-1), systolic: 118, diastolic: 76, pulse: 32, id: 'b' },
      { type: 'spo2', time: at(-1), value: 82, pulse: 150, id: 's' },
      { type: 'glucose', time: at(-1), flag: 'HI', source: 'meter', id: 'g' },
    ]);
    expect(await waitFor(() => alertOf(p.patientId, 'pulse.extreme'), { what: 'the pulse alert' })).toMatchObject({ severity: 'warning' });
    expect(await waitFor(() => alertOf(p.patientId, 'spo2.low'), { what: 'the SpO2 alert' })).toMatchObject({ severity: 'critical' });
    expect(await waitFor(() => alertOf(p.patientId, 'glucose.high'), { what: 'the HI alert' })).toMatchObject({ severity: 'critical' });
  });

  it('6. a COPD patient keeps the general SpO2 line until a clinician applies the 88-92 % target', async () => {
    const general = await patient(['copd']);
    await general.send({ type: 'spo2', time: at(-1), value: 90, id: 's' });
    expect(await waitFor(() => alertOf(general.patientId, 'spo2.low'), { what: 'the general line' })).toMatchObject({ severity: 'warning' });
    const target = await patient(['copd']);
    expect((await put(`/api/patients/${target.patientId}/presets/spo2.copd_target`, {})).status).toBe(200);
    await target.send([
      { type: 'spo2', time: at(-2), value: 90, id: 's1' },
      { type: 'fall', time: at(-1), confidence: 0.9, id: 'f' },
    ]);
    await waitFor(() => alertOf(target.patientId, 'fall.detected'), { what: 'a later alert for the same patient' });
    expect(await alertOf(target.patientId, 'spo2.low')).toBeUndefined();
    // The risk score follows the target: NEWS2 SpO2 scale 2 scores 90 % as 0, scale 1 as 3.
    const risk = async (patientId: string) => (await api(`/api/patients/${patientId}/reports/risk`)).body;
    expect(await risk(target.patientId)).toMatchObject({ spo2Scale: 2, parts: [{ parameter: 'spo2', points: 0 }] });
    expect(await risk(general.patientId)).toMatchObject({ spo2Scale: 1, parts: [{ parameter: 'spo2', points: 3 }] });
  });

  it('10. a device whose readings keep being rejected becomes a data-quality alert', async () => {
    const p = await patient();
    await p.send(Array.from({ length: 5 }, (_, i) => ({ type: 'glucose', time: at(-1), value: 1500 + i, unit: 'mg/dL', source: 'meter', id: `bad-${i}` })));
    expect(await waitFor(() => alertOf(p.patientId, 'device.rejected_readings'), { what: 'the data-quality alert' })).toMatchObject({ subject: p.deviceId, severity: 'warning' });
  });

  it('11. a backlog is judged in measurement order, and a late crisis is shown without paging', async () => {
    const p = await patient();
    await p.send([
      { type: 'blood_pressure', time: at(-60), systolic: 128, diastolic: 82, id: 'n1' },
      { type: 'blood_pressure', time: at(-180), systolic: 126, diastolic: 80, id: 'n3' },
      { type: 'blood_pressure', time: at(-48 * 60), systolic: 196, diastolic: 112, id: 'c' },
    ]);
    const crisis = await waitFor(async () => {
      const a = await alertOf(p.patientId, 'bp.crisis');
      return a?.backInRangeAt && a;
    }, { what: 'the late crisis, back in range' });
    expect(crisis).toMatchObject({ late: true, status: 'open' });
    // Escalation runs every second here (0.02 min): a live crisis would have escalated by now.
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    expect((await alertOf(p.patientId, 'bp.crisis'))!.escalationLevel).toBe(0);
  });
});
