import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { eraseReplicatedPatient } from '../lifecycle/index.js';
import { Clinic } from '../test/support/clinic.js';
import { waitFor } from '../test/support/temp.js';
import { startWebhookReceiver } from '../test/support/webhook-receiver.js';
import { WebhookSender } from './webhook.js';

const SECRET = 'webhook-refusals-test-secret-0123456789';
const quiet = { warn: () => undefined, info: () => undefined, error: () => undefined };

/**
 * The sender counts a receiver's refusals (4xx) per event, and parks the event after the last one. What it counts
 * belongs to the event, not to its number: when the event goes (a patient's erasure deletes their alerts' events)
 * its count goes with it, instead of staying in memory for ever.
 */
describe('webhook refusal counts', () => {
  let c: Clinic;
  let receiver: Awaited<ReturnType<typeof startWebhookReceiver>>;
  let sender: WebhookSender | undefined;
  beforeEach(async () => {
    c = await Clinic.open();
    receiver = await startWebhookReceiver(SECRET);
    c.alerts.sweepState.setWebhookCursor(0);
  });
  afterEach(async () => {
    await sender?.stop();
    await receiver.close();
    await c.close();
  });

  it("are forgotten with an erased event: another event given its number gets every refusal of its own", async () => {
    const erased = await c.patient();
    const next = await c.patient();
    const crisis = (p: typeof erased) => c.reading(p, { type: 'blood_pressure', systolic: 200, diastolic: 120 });
    // The erased patient's alert is refused twice, then the receiver is unavailable: the sender holds two refusals.
    const refusals = { erased: 0, next: 0 };
    receiver.setRefusing((d) => {
      if (d.alert.patientId === erased.patientId) return refusals.erased++ < 2 ? 422 : 503;
      if (d.alert.patientId === next.patientId) return (refusals.next++, 422);
      return undefined;
    });
    c.alerts.evaluation.onCommitted([crisis(erased)]);
    const [refused] = c.alerts.table.eventsAfter(0, 10);
    sender = new WebhookSender({ url: receiver.url, secrets: [SECRET], table: c.alerts.table, cursor: c.alerts.sweepState, parking: c.alerts.parking, log: quiet, maxRefusals: 3, maxBackoffMs: 200 });
    sender.start();
    await waitFor(() => refusals.erased >= 3, { what: 'two refusals, then the receiver unavailable' });

    // In one turn, so that the sender reads the log only once the number belongs to the next patient's alert.
    // Vigil's logs never give a number twice (AUTOINCREMENT here, an identity column in PostgreSQL): the test
    // winds SQLite's counter back to show what a count kept for a number would do.
    eraseReplicatedPatient(c.state.db, c.audit, erased.patientId);
    c.state.db.prepare("UPDATE sqlite_sequence SET seq = ? WHERE name = 'alert_events'").run(refused!.seq - 1);
    c.alerts.evaluation.onCommitted([crisis(next)]);
    const [reused] = c.alerts.table.eventsAfter(0, 10);
    expect(reused).toMatchObject({ seq: refused!.seq, type: 'alert.opened', alert: { patientId: next.patientId } });

    const parked = await waitFor(() => c.alerts.parking.list()[0], { what: 'the next alert parked' });
    expect(parked).toMatchObject({ seq: reused!.seq, status: 422, attempts: 3 });
    expect(refusals.next).toBe(3);
  });
});
