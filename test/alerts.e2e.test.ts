import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Alert } from '../alerts/index.js';
import { tempDir, waitFor } from './support/temp.js';
import { startTestVigil, type TestVigil } from './support/vigil.js';
import { startWebhookReceiver } from './support/webhook-receiver.js';

const TOKEN = 'test-admin-token-0123456789abcdef';
const SECRET = 'webhook-secret-0123456789';
const MIN = 60_000;
const at = (minutesFromNow: number) => new Date(Date.now() + minutesFromNow * MIN).toISOString();

describe('alerts end to end', () => {
  let t: TestVigil;
  let receiver: Awaited<ReturnType<typeof startWebhookReceiver>>;
  let dataDir: Awaited<ReturnType<typeof tempDir>>;
  let env: Record<string, string>;

  const api = async (path: string, init: RequestInit & { actor?: string } = {}) => {
    const headers: Record<string, string> = { authorization: `Bearer ${TOKEN}`, ...(init.body ? { 'content-type': 'application/json' } : {}) };
    if (init.actor) headers['x-vigil-actor'] = init.actor;
    const response = await fetch(`${t.httpUrl}${path}`, { ...init, headers });
    return { status: response.status, body: response.status === 204 ? undefined : ((await response.json()) as Record<string, unknown>) };
  };
  const alertsOf = async (patientId: string) => ((await api(`/api/alerts?patient=${patientId}`)).body!.alerts as Alert[]);
  const publish = async (client: Awaited<ReturnType<TestVigil['connectDevice']>>, deviceId: string, readings: unknown) =>
    client.publishAsync(`rpm/v1/devices/${deviceId}/readings`, JSON.stringify(readings), { qos: 1 });
  async function provision(programmes: string[]) {
    const dev = await t.provision();
    await t.vigil.registry.setProgrammes(dev.patientId, programmes);
    return { ...dev, client: await t.connectDevice(dev) };
  }

  beforeAll(async () => {
    receiver = await startWebhookReceiver(SECRET);
    dataDir = await tempDir();
    env = {
      VIGIL_ADMIN_TOKEN: TOKEN,
      VIGIL_ALERT_WEBHOOK_URL: receiver.url,
      VIGIL_ALERT_WEBHOOK_SECRET: SECRET,
      VIGIL_ALERT_SWEEP_CRON: '* * * * * *',
      VIGIL_ALERT_ESCALATE_MINUTES: '0.02',
    };
    t = await startTestVigil(env, dataDir.path);
  });
  afterAll(async () => {
    await t?.stop();
    await receiver?.close();
    await dataDir?.remove();
  });

  it('opens, deduplicates, escalates, is acknowledged, survives a restart, resolves by itself, and reaches the webhook', async () => {
    const dev = await provision(['hypertension']);
    // A backlog uploaded late: two crisis readings measured two hours ago.
    await publish(dev.client, dev.deviceId, [
      { type: 'blood_pressure', time: at(-120), systolic: 192, diastolic: 100, id: 'c1' },
      { type: 'blood_pressure', time: at(-119), systolic: 204, diastolic: 112, id: 'c2' },
    ]);
    const opened = await waitFor(async () => (await alertsOf(dev.patientId)).find((a) => a.ruleId === 'bp.crisis' && a.count === 2), { what: 'the crisis alert, updated' });
    expect(opened).toMatchObject({ status: 'open', severity: 'critical', late: true, worstValues: { systolic: 204 } });
    expect(opened.message).toMatch(/data arrived late/);
    expect((await alertsOf(dev.patientId)).filter((a) => a.ruleId === 'bp.crisis')).toHaveLength(1);
    // Late data is shown, not paged as if it were happening now: no escalation while only the backlog speaks.
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    expect((await alertsOf(dev.patientId)).find((a) => a.id === opened.id)?.escalationLevel).toBe(0);
    // A crisis measured now is news: the alert escalates until someone acknowledges it.
    await publish(dev.client, dev.deviceId, { type: 'blood_pressure', time: at(-1), systolic: 200, diastolic: 110, id: 'c3' });

    const escalated = await waitFor(async () => (await alertsOf(dev.patientId)).find((a) => a.ruleId === 'bp.crisis' && a.escalationLevel >= 1), { what: 'escalation' });
    expect(escalated.escalatedAt).not.toBeNull();

    receiver.setFailing(true);
    const ack = await api(`/api/alerts/${opened.id}/acknowledge`, { method: 'POST', body: JSON.stringify({ note: 'called the patient' }), actor: 'Dr Grey' });
    expect(ack.status).toBe(200);
    expect(ack.body!.alert).toMatchObject({ status: 'acknowledged', acknowledgedBy: 'admin:Dr Grey', acknowledgeNote: 'called the patient' });
    expect((await api(`/api/alerts/${opened.id}/acknowledge`, { method: 'POST', body: '{}' })).status).toBe(409);
    await waitFor(() => receiver.refusedCount() > 0, { what: 'the receiver to refuse a delivery' });

    // Restart in the middle: the alert, its events and the webhook cursor are in the state database.
    await t.stop();
    t = await startTestVigil(env, dataDir.path);
    const client = await t.connectDevice(dev);
    expect((await alertsOf(dev.patientId)).find((a) => a.id === opened.id)?.status).toBe('acknowledged');

    // Back in range (by the hysteresis margin) for the rule's hold time of measurement time (shortened here
    // by an override to a minute): an acknowledged alert, seen by a person, resolves by itself.
    const hold = { override: { resolveAfterMinutes: 1 }, reason: 'test: a short hold' };
    expect((await api(`/api/patients/${dev.patientId}/rules/bp.crisis`, { method: 'PUT', body: JSON.stringify(hold) })).status).toBe(200);
    await publish(client, dev.deviceId, [
      { type: 'blood_pressure', time: at(0), systolic: 150, diastolic: 90, id: 'n1' },
      { type: 'blood_pressure', time: at(1.5), systolic: 148, diastolic: 88, id: 'n2' },
    ]);
    const resolved = await waitFor(async () => (await alertsOf(dev.patientId)).find((a) => a.id === opened.id && a.status === 'resolved'), { what: 'auto-resolution' });
    expect(resolved.resolvedBy).toBe('vigil');

    receiver.setFailing(false);
    const deliveries = await waitFor(() => {
      const mine = receiver.received.filter((d) => d.alert.id === opened.id);
      return mine.some((d) => d.type === 'alert.resolved') && mine;
    }, { what: 'every transition at the webhook', timeoutMs: 30_000 });
    // Escalation repeats every period until acknowledged, so it may appear more than once.
    const types = deliveries.map((d) => d.type).filter((type, i, all) => type !== 'alert.escalated' || all[i - 1] !== 'alert.escalated');
    // Opened from the backlog (late), re-notified when a crisis measured now confirmed it, then escalated.
    expect(types).toEqual(['alert.opened', 'alert.renotified', 'alert.escalated', 'alert.acknowledged', 'alert.resolved']);
    expect(deliveries.find((d) => d.type === 'alert.renotified')).toMatchObject({ change: 'current', alert: { late: false } });
    expect(deliveries.every((d) => d.signatureValid)).toBe(true);
    // A patient's events arrive in sequence order (different patients' may overtake each other).
    const seqs = deliveries.map((d) => d.seq);
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));

    const detail = await api(`/api/alerts/${opened.id}`);
    expect((detail.body!.events as { type: string }[]).map((e) => e.type)).toContain('alert.updated');
    const audit = await api('/api/audit');
    expect(audit.body!.entries).toEqual(expect.arrayContaining([expect.objectContaining({ actor: 'admin:Dr Grey', action: 'alert.acknowledged', patientId: dev.patientId })]));
  });

  it('applies programme rules and per-patient overrides at once, and audits them', async () => {
    const dev = await provision(['copd']);
    const tighter = { override: { tiers: [{ severity: 'critical', match: 'any', conditions: [{ field: 'value', op: '<', value: 88 }] }, { severity: 'warning', match: 'any', conditions: [{ field: 'value', op: '<=', value: 94 }] }] }, reason: 'recent exacerbation: earlier warning' };
    const put = await api(`/api/patients/${dev.patientId}/rules/spo2.low`, { method: 'PUT', body: JSON.stringify(tighter), actor: 'Dr Grey' });
    expect(put.status).toBe(200);
    await publish(dev.client, dev.deviceId, { type: 'spo2', time: at(0), value: 94, id: 's2' });
    await waitFor(async () => (await alertsOf(dev.patientId)).some((a) => a.ruleId === 'spo2.low'), { what: 'the overridden rule to fire' });

    const bad = await api(`/api/patients/${dev.patientId}/rules/spo2.low`, { method: 'PUT', body: JSON.stringify({ override: { tiers: 'none' }, reason: 'typo' }) });
    expect(bad.status).toBe(400);
    expect(bad.body!.code).toBe('VIGIL_ERR_CONFIG');
    const noReason = await api(`/api/patients/${dev.patientId}/rules/spo2.low`, { method: 'PUT', body: JSON.stringify({ override: { resolveAfterMinutes: 30 } }) });
    expect(noReason.status).toBe(400);
    const rules = await api(`/api/patients/${dev.patientId}/rules`);
    expect(rules.body!.overrides).toEqual([expect.objectContaining({ ruleId: 'spo2.low', actor: 'admin:Dr Grey', reason: 'recent exacerbation: earlier warning' })]);
    const audit = await api('/api/audit');
    expect(audit.body!.entries).toEqual(expect.arrayContaining([expect.objectContaining({ action: 'rule.override', patientId: dev.patientId, target: 'spo2.low' })]));
  });

  it('snoozes one rule for one patient until a time', async () => {
    const dev = await provision(['diabetes']);
    const snooze = await api(`/api/patients/${dev.patientId}/snoozes/glucose.low`, { method: 'PUT', body: JSON.stringify({ until: at(60), note: 'hypo treated, rechecking' }) });
    expect(snooze.status).toBe(200);
    // Level 1 (a warning) is what the snooze silences.
    await publish(dev.client, dev.deviceId, { type: 'glucose', time: at(-2), value: 62, unit: 'mg/dL', source: 'meter', id: 'g1' });
    await publish(dev.client, dev.deviceId, { type: 'fall', time: at(-2), confidence: 0.9, id: 'f1' });
    await waitFor(async () => (await alertsOf(dev.patientId)).some((a) => a.ruleId === 'fall.detected'), { what: 'the fall alert' });
    expect((await alertsOf(dev.patientId)).some((a) => a.ruleId === 'glucose.low')).toBe(false);

    expect((await api(`/api/patients/${dev.patientId}/snoozes/glucose.low`, { method: 'DELETE' })).status).toBe(204);
    await publish(dev.client, dev.deviceId, { type: 'glucose', time: at(-1), value: 2.8, unit: 'mmol/L', source: 'meter', id: 'g2' });
    const low = await waitFor(async () => (await alertsOf(dev.patientId)).find((a) => a.ruleId === 'glucose.low'), { what: 'the glucose alert after the snooze' });
    expect(low.severity).toBe('critical');
  });

  it('opens a missing-data alert on the schedule and resolves it when readings return', async () => {
    const dev = await provision(['heart_failure']);
    await api(`/api/patients/${dev.patientId}/rules/missing.weight`, { method: 'PUT', body: JSON.stringify({ override: { maxGapHours: 0.0008 }, reason: 'test: a three-second plan' }) });
    const missing = await waitFor(async () => (await alertsOf(dev.patientId)).find((a) => a.ruleId === 'missing.weight'), { what: 'the missing-data alert' });
    expect(missing.message).toMatch(/since enrolment/);
    await publish(dev.client, dev.deviceId, { type: 'weight', time: at(0), value: 80, unit: 'kg', id: 'w1' });
    await waitFor(async () => (await alertsOf(dev.patientId)).find((a) => a.id === missing.id && a.status === 'resolved'), { what: 'resolution by a new reading' });
  });

  it('refuses the API without the admin token and explains bad requests', async () => {
    expect((await fetch(`${t.httpUrl}/api/alerts`)).status).toBe(401);
    expect((await fetch(`${t.httpUrl}/api/alerts`, { headers: { authorization: 'Bearer wrong' } })).status).toBe(401);
    const bad = await api('/api/alerts?severity=apocalyptic');
    expect(bad.status).toBe(400);
    expect(bad.body).toMatchObject({ code: 'VIGIL_ERR_BAD_REQUEST' });
    expect((await api('/api/alerts/999999')).status).toBe(404);
    const metrics = await (await fetch(`${t.httpUrl}/metrics`)).text();
    expect(metrics).toMatch(/vigil_alerts_live\{severity="critical"\} [1-9]/);
    expect(metrics).toMatch(/^vigil_alert_webhook_delivered_total [1-9]/m);
    await waitFor(async () => /^vigil_alert_webhook_pending 0$/m.test(await (await fetch(`${t.httpUrl}/metrics`)).text()), { what: 'the webhook to catch up' });
  });
});
