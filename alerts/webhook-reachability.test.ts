import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Clinic } from '../test/support/clinic.js';
import { waitFor } from '../test/support/temp.js';
import { startWebhookReceiver } from '../test/support/webhook-receiver.js';
import { WebhookSender } from './webhook.js';

const SECRET = 'webhook-reachability-test-secret-0123456789';

/**
 * The webhook's outage lines say whether the receiver can be reached. A refusal (4xx but 408 and 429) is an
 * answer: the receiver is there and will not take this delivery. It is retried and parked as before, but it
 * neither starts an outage nor keeps one going.
 */
describe('webhook outage lines and refusals', () => {
  let c: Clinic;
  let receiver: Awaited<ReturnType<typeof startWebhookReceiver>>;
  let sender: WebhookSender | undefined;
  const lines: string[] = [];
  const log = {
    warn: (_obj: object, msg: string) => void lines.push(`warn: ${msg}`),
    // With the refusals the receiver had answered by then.
    info: (obj: object, msg: string) => void lines.push(`info: ${msg} ${JSON.stringify({ ...obj, outageMs: undefined })} after ${receiver.refusedSeqs().length} refusals`),
    error: (_obj: object, msg: string) => void lines.push(`error: ${msg}`),
  };
  const parked = 'error: alert webhook delivery refused by the receiver; parked (vigil alerts parked, replay with vigil alerts replay)';

  beforeEach(async () => {
    lines.length = 0;
    c = await Clinic.open();
    receiver = await startWebhookReceiver(SECRET);
    c.alerts.sweepState.setWebhookCursor(0);
    const p = await c.patient();
    c.alerts.evaluation.onCommitted([c.reading(p, { type: 'blood_pressure', systolic: 200, diastolic: 120 })]);
  });
  afterEach(async () => {
    await sender?.stop();
    await receiver.close();
    await c.close();
  });

  const start = () => {
    sender = new WebhookSender({ url: receiver.url, secrets: [SECRET], table: c.alerts.table, cursor: c.alerts.sweepState, parking: c.alerts.parking, log, maxRefusals: 3, maxBackoffMs: 200 });
    sender.start();
  };

  it('logs no outage for a receiver that refuses a delivery: only the delivery parked', async () => {
    receiver.setRefusing(() => 422);
    start();
    await waitFor(() => c.alerts.parking.list().length === 1, { what: 'the refused delivery parked' });
    expect(receiver.refusedSeqs()).toHaveLength(3);
    expect(lines).toEqual([parked]);
  });

  it('ends an outage at the first refusal once the receiver is back: the recovery line comes before the delivery is parked', async () => {
    receiver.setFailing(true);
    start();
    await waitFor(() => receiver.refusedCount() >= 2, { what: 'two deliveries the receiver was down for' });
    receiver.setRefusing(() => 422);
    receiver.setFailing(false);
    await waitFor(() => c.alerts.parking.list().length === 1, { what: 'the refused delivery parked' });
    const unavailable = receiver.refusedCount();
    expect(lines).toEqual([
      'warn: alert webhook delivery failed; retrying',
      `info: alert webhook delivering again {"failures":${unavailable}} after 1 refusals`,
      parked,
    ]);
    expect(c.alerts.parking.list()[0]).toMatchObject({ status: 422, attempts: 3 });
  });
});
