import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { eraseReplicatedPatient } from '../lifecycle/index.js';
import { Clinic, nurse } from '../test/support/clinic.js';
import { waitFor } from '../test/support/temp.js';
import { WebhookSender, type WebhookOptions } from './webhook.js';

const SECRET = 'webhook-concurrency-test-secret-0123456789';
const quiet = { warn: () => undefined, info: () => undefined, error: () => undefined };

interface Delivery {
  readonly seq: number;
  readonly type: string;
  readonly alertId: number;
  /** When the request arrived, and when it was answered (performance.now()). */
  readonly arrivedAt: number;
  answeredAt?: number;
}

/**
 * A receiver that answers each delivery after `delayMs` (or a delay of its own), as one far away does, and counts
 * those it holds at once. It answers 503 (unavailable) to those `unavailable` picks, by the request's number (1 for
 * the first it received).
 */
async function slowReceiver(delayMs: number | ((d: Delivery) => number), unavailable?: (d: Delivery, request: number) => boolean) {
  const received: Delivery[] = [];
  let requests = 0;
  let holding = 0;
  let mostHeld = 0;
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = JSON.parse(Buffer.concat(chunks).toString()) as { seq: number; type: string; alert: { id: number } };
      const delivery: Delivery = { seq: body.seq, type: body.type, alertId: body.alert.id, arrivedAt: performance.now() };
      const request = ++requests;
      holding++;
      mostHeld = Math.max(mostHeld, holding);
      setTimeout(() => {
        holding--;
        if (unavailable?.(delivery, request)) {
          res.writeHead(503).end();
          return;
        }
        delivery.answeredAt = performance.now();
        received.push(delivery);
        res.writeHead(204).end();
      }, typeof delayMs === 'number' ? delayMs : delayMs(delivery));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`,
    received,
    mostHeld: () => mostHeld,
    close: () => {
      server.closeAllConnections();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/**
 * Deliveries to a slow receiver go several at once (VIGIL_ALERT_WEBHOOK_CONCURRENCY), so that a storm's last
 * alert, or a critical one behind a sweep's warnings, does not wait for every delivery before it; each alert's
 * own events still arrive in sequence order, and a failure still loses and repeats nothing.
 */
describe('webhook deliveries in parallel', () => {
  let c: Clinic;
  let sender: WebhookSender | undefined;
  let receiver: Awaited<ReturnType<typeof slowReceiver>> | undefined;
  beforeEach(async () => {
    c = await Clinic.open();
    c.alerts.sweepState.setWebhookCursor(0);
  });
  afterEach(async () => {
    await sender?.stop();
    await receiver?.close();
    await c.close();
  });

  /** Twelve patients in crisis, the first three acknowledged at once (each opening next to its acknowledgement): fifteen transitions. */
  async function storm() {
    const patients = await Promise.all(Array.from({ length: 12 }, () => c.patient()));
    const crisis = (p: (typeof patients)[number]) => c.reading(p, { type: 'blood_pressure', systolic: 200, diastolic: 120 });
    for (const p of patients.slice(0, 3)) {
      c.alerts.evaluation.onCommitted([crisis(p)]);
      await c.alerts.actions.acknowledge(c.live(p.patientId, 'bp.crisis')!.id, nurse);
    }
    c.alerts.evaluation.onCommitted(patients.slice(3).map(crisis));
    return c.alerts.table.eventsAfter(0, 100).filter((e) => e.type !== 'alert.updated');
  }

  function start(url: string, concurrency: number, log: WebhookOptions['log'] = quiet) {
    sender = new WebhookSender({ url, secrets: [SECRET], concurrency, table: c.alerts.table, cursor: c.alerts.sweepState, parking: c.alerts.parking, log, maxBackoffMs: 500 });
    sender.start();
  }

  it("sends up to its concurrency at once, each patient's events in order, each once", async () => {
    const events = await storm();
    expect(events).toHaveLength(15);
    receiver = await slowReceiver(150);
    start(receiver.url, 4);
    await waitFor(() => receiver!.received.length >= 15, { what: 'fifteen deliveries', timeoutMs: 20_000 });
    await waitFor(() => c.alerts.sweepState.webhookCursor() === events.at(-1)!.seq, { what: 'the cursor at the last event' });
    expect(receiver.mostHeld()).toBeGreaterThan(1);
    expect(receiver.mostHeld()).toBeLessThanOrEqual(4);
    expect(receiver.received.map((d) => d.seq).sort((a, b) => a - b)).toEqual(events.map((e) => e.seq));
    for (const alertId of new Set(events.map((e) => e.alert.id))) {
      // Here each patient has one alert: a patient's events in order are this alert's.
      const own = receiver.received.filter((d) => d.alertId === alertId);
      expect(own.map((d) => d.seq)).toEqual([...own.map((d) => d.seq)].sort((a, b) => a - b));
    }
    // An acknowledgement is not even sent before its alert's opening has been answered.
    const acknowledged = receiver.received.filter((d) => d.type === 'alert.acknowledged');
    expect(acknowledged).toHaveLength(3);
    for (const ack of acknowledged) {
      const opened = receiver.received.find((d) => d.alertId === ack.alertId && d.type === 'alert.opened')!;
      expect(ack.arrivedAt).toBeGreaterThanOrEqual(opened.answeredAt!);
    }
  });

  it('after a receiver fails one delivery, sends it again and nothing that was delivered around it', async () => {
    const events = await storm();
    const failing = events[4]!;
    let failed = false;
    receiver = await slowReceiver(50, (d) => d.seq === failing.seq && !failed && (failed = true));
    start(receiver.url, 4);
    // The cursor reaches the last event once the round that sent it is over: every delivery is in by then.
    await waitFor(() => c.alerts.sweepState.webhookCursor() === events.at(-1)!.seq, { what: 'the cursor at the last event', timeoutMs: 20_000 });
    expect(receiver.received.map((d) => d.seq).sort((a, b) => a - b)).toEqual(events.map((e) => e.seq));
  });

  it('counts as pending what still waits, not what was delivered ahead of a slow or failing delivery', async () => {
    const events = await storm();
    // One patient's alert is answered late the first time, and unavailable until the receiver recovers.
    const stuck = events[6]!;
    let recovered = false;
    let stuckAnswers = 0;
    receiver = await slowReceiver((d) => (d.seq !== stuck.seq ? 20 : stuckAnswers === 0 ? 3000 : 200), (d) => d.seq === stuck.seq && (stuckAnswers++, !recovered));
    start(receiver.url, 4);
    // Everything but it is delivered while it is in flight: the cursor stays before it until the batch is over.
    await waitFor(() => receiver!.received.length === 14 && sender!.pending() === 1, { what: 'every delivery but the slow one, and one pending' });
    expect(stuckAnswers).toBe(0);
    expect(c.alerts.sweepState.webhookCursor()).toBeLessThan(stuck.seq);
    // It failed, and is retried after a wait: the deliveries made around it are not pending either.
    await waitFor(() => stuckAnswers >= 2, { what: 'the slow delivery failed and tried again', timeoutMs: 20_000 });
    expect(c.alerts.sweepState.webhookCursor()).toBeLessThan(stuck.seq);
    expect(sender!.pending()).toBe(1);
    recovered = true;
    await waitFor(() => c.alerts.sweepState.webhookCursor() === events.at(-1)!.seq, { what: 'the cursor at the last event', timeoutMs: 20_000 });
    expect(sender!.pending()).toBe(0);
  });

  it("does not count as pending, nor remember, an event delivered ahead of a failing one and then erased", async () => {
    const events = await storm();
    const stuck = events[6]!;
    let stuckAnswers = 0;
    receiver = await slowReceiver((d) => (d.seq !== stuck.seq ? 20 : stuckAnswers === 0 ? 2000 : 200), (d) => d.seq === stuck.seq && (stuckAnswers++, true));
    start(receiver.url, 4);
    await waitFor(() => receiver!.received.length === 14, { what: 'every delivery but the failing one' });
    await waitFor(() => sender!.pending() === 1, { what: 'one transition pending' });
    // A patient whose alert went ahead of the failing one is erased: its event leaves the log.
    const erased = events[7]!;
    expect(erased.alert.patientId).not.toBe(stuck.alert.patientId);
    eraseReplicatedPatient(c.state.db, c.audit, erased.alert.patientId);
    expect(c.alerts.table.countTransitionsAfter(0)).toBe(14);
    // Once the sender has read the log again, what it had delivered of that patient is forgotten, not subtracted.
    await waitFor(() => receiver!.received.length === 14 && sender!.pending() === 1, { what: 'one transition pending after the erasure', timeoutMs: 10_000 });
  });

  it('logs one failure and one recovery while deliveries in flight fail and go through in turn', async () => {
    const events = await storm();
    // Every other request of the first six fails, as behind a load balancer with one of two backends down.
    receiver = await slowReceiver(50, (_d, request) => request <= 6 && request % 2 === 1);
    const lines: { level: string; obj: object; msg: string }[] = [];
    const line = (level: string) => (obj: object, msg: string) => void lines.push({ level, obj, msg });
    start(receiver.url, 4, { warn: line('warn'), info: line('info'), error: line('error') });
    await waitFor(() => c.alerts.sweepState.webhookCursor() === events.at(-1)!.seq, { what: 'the cursor at the last event', timeoutMs: 20_000 });
    expect(lines.map((l) => `${l.level}: ${l.msg}`)).toEqual(['warn: alert webhook delivery failed; retrying', 'info: alert webhook delivering again']);
    expect(lines[0]!.obj).toEqual({ reason: 'receiver answered 503', seq: expect.any(Number) });
    expect(lines[1]!.obj).toEqual({ failures: 3, outageMs: expect.any(Number) });
    expect((lines[1]!.obj as { outageMs: number }).outageMs).toBeGreaterThan(0);
  });

  it('with a concurrency of 1, sends every event in sequence order', async () => {
    const events = await storm();
    receiver = await slowReceiver(20);
    start(receiver.url, 1);
    await waitFor(() => receiver!.received.length >= 15, { what: 'fifteen deliveries', timeoutMs: 20_000 });
    expect(receiver.mostHeld()).toBe(1);
    expect(receiver.received.map((d) => d.seq)).toEqual(events.map((e) => e.seq));
  });

  it("does not deliver an old alert's resolution after the new alert that followed it for the same patient", async () => {
    const p = await c.patient();
    await c.send(p, { type: 'blood_pressure', systolic: 200, diastolic: 120 });
    const first = c.live(p.patientId, 'bp.crisis')!;
    await c.alerts.actions.acknowledge(first.id, nurse);
    await c.alerts.actions.resolve(first.id, nurse);
    c.advance(60_000);
    await c.send(p, { type: 'blood_pressure', systolic: 200, diastolic: 120 });
    const second = c.live(p.patientId, 'bp.crisis')!;
    expect(second.id).not.toBe(first.id);
    // Pending together, as after any outage of the receiver: a pager keyed on patient and rule must end with the
    // new crisis open, not with the old one's resolution.
    receiver = await slowReceiver(50);
    start(receiver.url, 8);
    await waitFor(() => receiver!.received.length >= 4, { what: 'four deliveries', timeoutMs: 15_000 });
    expect(receiver.received.map((d) => `${d.type}#${d.alertId === first.id ? 1 : 2}`)).toEqual(['alert.opened#1', 'alert.acknowledged#1', 'alert.resolved#1', 'alert.opened#2']);
  });

  it('starts no new delivery once stopped; the one in flight finishes', async () => {
    const p = await c.patient();
    await c.send(p, { type: 'blood_pressure', systolic: 200, diastolic: 120 });
    const alert = c.live(p.patientId, 'bp.crisis')!;
    await c.alerts.actions.acknowledge(alert.id, nurse);
    await c.alerts.actions.resolve(alert.id, nurse);
    receiver = await slowReceiver(300);
    start(receiver.url, 8);
    await waitFor(() => receiver!.mostHeld() >= 1, { what: 'the first delivery in flight' });
    const stoppedAt = performance.now();
    await sender!.stop();
    sender = undefined;
    expect(receiver.received.map((d) => d.type)).toEqual(['alert.opened']);
    expect(receiver.received.filter((d) => d.arrivedAt > stoppedAt)).toEqual([]);
    // Not delivered, so not past the cursor: the next start sends them.
    expect(c.alerts.sweepState.webhookCursor()).toBe(c.alerts.table.eventsAfter(0, 10).find((e) => e.type === 'alert.opened')!.seq);
  });
});
