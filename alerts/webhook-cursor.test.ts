import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Clinic } from '../test/support/clinic.js';
import { waitFor } from '../test/support/temp.js';
import { startWebhookReceiver } from '../test/support/webhook-receiver.js';
import { WebhookSender, type WebhookCursor } from './webhook.js';

const SECRET = 'webhook-cursor-test-secret-0123456789';

/**
 * The sender's cursor (the last delivered event) is written once per batch of deliveries and before any wait,
 * not after every event: in an alert storm each write cost the broker's thread 0.4 ms. What is delivered before
 * a receiver fails is still recorded, so that the retry does not send it again.
 */
describe('the webhook cursor', () => {
  let c: Clinic;
  let receiver: Awaited<ReturnType<typeof startWebhookReceiver>>;
  let sender: WebhookSender | undefined;
  beforeEach(async () => {
    c = await Clinic.open();
    receiver = await startWebhookReceiver(SECRET);
  });
  afterEach(async () => {
    await sender?.stop();
    await receiver.close();
    await c.close();
  });

  it('is written per batch, and before the wait when a delivery fails, so nothing delivered is sent twice', async () => {
    const patients = await Promise.all(Array.from({ length: 12 }, () => c.patient()));
    c.alerts.sweepState.setWebhookCursor(0);
    c.alerts.evaluation.onCommitted(patients.map((p) => c.reading(p, { type: 'blood_pressure', systolic: 200, diastolic: 120 })));
    // The receiver is unavailable once, for the fifth patient's alert: the four before it are delivered.
    let failed = false;
    receiver.setRefusing((d) => (d.alert.patientId === patients[4]!.patientId && !failed ? ((failed = true), 503) : undefined));
    const writes: number[] = [];
    const state = c.alerts.sweepState;
    const cursor: WebhookCursor = {
      webhookCursor: () => state.webhookCursor(),
      setWebhookCursor: (seq) => {
        writes.push(seq);
        state.setWebhookCursor(seq);
      },
      known: () => state.known(),
    };
    sender = new WebhookSender({ url: receiver.url, secrets: [SECRET], table: c.alerts.table, cursor, parking: c.alerts.parking, log: { warn: () => undefined, info: () => undefined, error: () => undefined }, maxBackoffMs: 500 });
    sender.start();
    await waitFor(() => receiver.received.length >= 12, { what: 'all twelve alerts', timeoutMs: 15_000 });
    await waitFor(() => state.webhookCursor() === receiver.received.at(-1)!.seq, { what: 'the cursor at the last delivery' });
    const seqs = receiver.received.map((d) => d.seq);
    expect(new Set(seqs).size).toBe(12);
    expect(receiver.refusedSeqs()).toHaveLength(1);
    // Once before the wait (the four delivered), once at the end of the batch.
    expect(writes).toEqual([seqs[3], seqs[11]]);
  });
});
