import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir, waitFor } from './support/temp.js';
import { startTestVigil, type TestVigil } from './support/vigil.js';
import { startWebhookReceiver } from './support/webhook-receiver.js';

const TOKEN = 'test-admin-token-0123456789abcdef';
const NEW_SECRET = 'whsec_bmV3LXNlY3JldC1mb3Itcm90YXRpb24tMDEyMzQ1';
const OLD_SECRET = 'old-webhook-secret-0123456789';
const at = (minutesFromNow: number) => new Date(Date.now() + minutesFromNow * 60_000).toISOString();

/** A receiver that refuses one delivery (4xx) must not block every later alert; what it refused can be replayed. */
describe('webhook deliveries a receiver refuses', () => {
  let t: TestVigil;
  let receiver: Awaited<ReturnType<typeof startWebhookReceiver>>;
  let dataDir: Awaited<ReturnType<typeof tempDir>>;
  const api = async (path: string, init: RequestInit = {}) => {
    const response = await fetch(`${t.httpUrl}${path}`, { ...init, headers: { authorization: `Bearer ${TOKEN}`, ...(init.body ? { 'content-type': 'application/json' } : {}) } });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  };

  beforeAll(async () => {
    // The receiver still checks the old secret: Vigil signs with both while the receiver rotates.
    receiver = await startWebhookReceiver(NEW_SECRET, OLD_SECRET);
    dataDir = await tempDir();
    t = await startTestVigil({ VIGIL_ADMIN_TOKEN: TOKEN, VIGIL_ALERT_WEBHOOK_URL: receiver.url, VIGIL_ALERT_WEBHOOK_SECRET: `${NEW_SECRET} ${OLD_SECRET}` }, dataDir.path);
  });
  afterAll(async () => {
    await t?.stop();
    await receiver?.close();
    await dataDir?.remove();
  });

  it('parks a refused delivery after a few tries, delivers the alerts after it, and replays it on request', async () => {
    const refused = await t.provision();
    const later = await t.provision();
    receiver.setRefusing((d) => (d.alert.patientId === refused.patientId ? 422 : undefined));
    const a = await t.connectDevice(refused);
    await a.publishAsync(`rpm/v1/devices/${refused.deviceId}/readings`, JSON.stringify({ type: 'fall', time: at(0), confidence: 0.9 }), { qos: 1 });
    const b = await t.connectDevice(later);
    await b.publishAsync(`rpm/v1/devices/${later.deviceId}/readings`, JSON.stringify({ type: 'fall', time: at(0), confidence: 0.9 }), { qos: 1 });

    const delivered = await waitFor(() => receiver.received.find((d) => d.alert.patientId === later.patientId), { what: 'the later alert past the refused one', timeoutMs: 30_000 });
    expect(delivered).toMatchObject({ type: 'alert.opened', standardValid: true, signatureValid: true });
    // Deliveries go in parallel: the later alert may arrive before the refused one has been tried five times.
    const parked = await waitFor(async () => {
      const list = (await api('/api/alerts/webhook/parked')).body.parked as { seq: number; status: number; attempts: number }[];
      return list.length > 0 && list;
    }, { what: 'the refused delivery parked', timeoutMs: 30_000 });
    expect(receiver.refusedSeqs().length).toBe(5);
    expect(parked).toEqual([expect.objectContaining({ status: 422, attempts: 5 })]);
    expect(await (await fetch(`${t.httpUrl}/metrics`)).text()).toMatch(/^vigil_alert_webhook_parked 1$/m);

    receiver.setRefusing(undefined);
    expect((await api('/api/alerts/webhook/parked/replay', { method: 'POST', body: JSON.stringify({ seq: parked[0]!.seq }) })).body).toEqual({ requested: 1 });
    const replayed = await waitFor(() => receiver.received.find((d) => d.alert.patientId === refused.patientId), { what: 'the replayed delivery', timeoutMs: 15_000 });
    expect(replayed).toMatchObject({ seq: parked[0]!.seq, replay: true, standardValid: true });
    await waitFor(async () => ((await api('/api/alerts/webhook/parked')).body.parked as unknown[]).length === 0, { what: 'the parking to empty' });
  });
});
