import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from './support/temp.js';
import { startTestVigil, type TestVigil } from './support/vigil.js';
import { startWebhookReceiver } from './support/webhook-receiver.js';

/** A webhook receiver that stops answering must not slow ingest; what it missed is delivered afterwards. */
describe('stalled webhook receiver', () => {
  let t: TestVigil;
  let receiver: Awaited<ReturnType<typeof startWebhookReceiver>>;
  const SECRET = 'webhook-secret-0123456789';

  beforeAll(async () => {
    receiver = await startWebhookReceiver(SECRET);
    t = await startTestVigil({ VIGIL_ALERT_WEBHOOK_URL: receiver.url, VIGIL_ALERT_WEBHOOK_SECRET: SECRET, VIGIL_ALERT_WEBHOOK_TIMEOUT_MS: '500' });
  });
  afterAll(async () => {
    await t?.stop();
    await receiver?.close();
  });

  it('keeps acknowledging and opening alerts while the receiver hangs, then catches up', async () => {
    receiver.setHanging(true);
    const patients: string[] = [];
    for (let i = 0; i < 15; i++) {
      const dev = await t.provision();
      patients.push(dev.patientId);
      const client = await t.connectDevice(dev);
      // Every PUBACK arrives while no webhook delivery can complete.
      await client.publishAsync(`rpm/v1/devices/${dev.deviceId}/readings`, JSON.stringify([
        { type: 'blood_pressure', time: new Date().toISOString(), systolic: 199, diastolic: 121, id: 'c' },
        ...Array.from({ length: 20 }, (_, k) => ({ type: 'heart_rate', time: new Date(Date.now() - k * 1000).toISOString(), value: 70, id: `h${k}` })),
      ]), { qos: 1 });
    }
    await waitFor(() => t.vigil.alerts.queries.list({ status: 'open' }).length >= 15, { what: 'fifteen alerts open' });
    const pending = await waitFor(async () => {
      const m = /^vigil_alert_webhook_pending (\d+)/m.exec(await (await fetch(`${t.httpUrl}/metrics`)).text());
      return Number(m?.[1]) >= 14 && Number(m?.[1]);
    }, { what: 'the webhook backlog to show' });
    expect(pending).toBeGreaterThanOrEqual(14);
    expect(receiver.received).toHaveLength(0);

    receiver.setHanging(false);
    const opened = await waitFor(() => {
      const mine = receiver.received.filter((d) => d.type === 'alert.opened' && patients.includes(d.alert.patientId));
      return mine.length === 15 && mine;
    }, { what: 'every opening delivered after the receiver recovered', timeoutMs: 60_000 });
    // Each once: deliveries go several at once (VIGIL_ALERT_WEBHOOK_CONCURRENCY), each patient's events in order.
    expect(new Set(opened.map((d) => d.seq)).size).toBe(15);
  });
});
