import type { AlertEvent } from './types.js';

/** Whether an event notifies (alert.updated records a repeat or a clear timer, and is not sent). */
function isTransition(event: AlertEvent): boolean {
  return event.type !== 'alert.updated';
}

export interface BatchDelivery {
  /**
   * Deliveries in flight at most, asked before each one starts: 1 sends every event in sequence order. (The sender
   * answers 1 while its receiver is failing, so that a retry probes with one delivery, not a volley.)
   */
  readonly concurrency: () => number;
  /** Whether to start another delivery (false once the sender stops: those in flight still finish). */
  readonly running: () => boolean;
  /** Sends one event; resolves true when it needs nothing more (delivered, or parked), false to try it again later. */
  readonly send: (event: AlertEvent) => Promise<boolean>;
}

export interface BatchResult {
  /** The last event of the batch's longest prefix that needs nothing more: where the cursor may move. */
  readonly settled: number | undefined;
  /** An event must be tried again after a wait (the receiver was unavailable, or refused it too few times to park it). */
  readonly retry: boolean;
  /** What a send threw, if one did: the caller records `settled` first, then fails the step. */
  readonly error?: { readonly err: unknown } | undefined;
}

/**
 * Sends a batch of events with up to `concurrency` deliveries in flight, each patient's events one after the
 * other in sequence order: an event is not sent while an earlier one of the same patient still needs sending.
 * Per patient, not per alert: a receiver that keys incidents on patient and rule must not see an old alert's
 * resolution after the new alert that followed it. Different patients' events may overtake each other: one at a
 * time, a receiver 50 ms away took 25 s to receive the 500th alert of a storm, and a critical alert waited behind
 * every missing-data warning a sweep had opened before it. Once a delivery fails no further one starts, those in
 * flight finish, and the caller waits before trying again from `settled`.
 */
export async function deliverBatch(events: readonly AlertEvent[], d: BatchDelivery): Promise<BatchResult> {
  const settled = new Set<number>();
  const inFlight = new Set<Promise<unknown>>();
  /** Per patient, whether the latest of their events started in this batch needs nothing more. */
  const latestOfPatient = new Map<string, Promise<boolean>>();
  let retry = false;
  let error: { err: unknown } | undefined;
  for (const event of events) {
    if (!isTransition(event)) {
      settled.add(event.seq);
      continue;
    }
    while (inFlight.size >= Math.max(1, d.concurrency()) && !retry) await Promise.race(inFlight);
    if (retry || !d.running()) break;
    const before = latestOfPatient.get(event.alert.patientId);
    const sent = (async () => {
      if (before && !(await before)) return false;
      if (retry || !d.running()) return false;
      try {
        const done = await d.send(event);
        if (done) settled.add(event.seq);
        else retry = true;
        return done;
      } catch (err) {
        // The state database could not record a parked delivery: tried again, the others in flight finish first.
        error ??= { err };
        retry = true;
        return false;
      }
    })();
    latestOfPatient.set(event.alert.patientId, sent);
    const tracked = sent.finally(() => inFlight.delete(tracked));
    inFlight.add(tracked);
  }
  await Promise.all(inFlight);
  let prefix: number | undefined;
  for (const event of events) {
    if (!settled.has(event.seq)) break;
    prefix = event.seq;
  }
  return { settled: prefix, retry, error };
}
