import type { Client } from 'aedes';

/** Lets aedes read a client's next packets now, before this publish is acknowledged. Does something once per publish. */
export type ReadAhead = () => void;

/** aedes 1.x's per-client completion callback: each handled packet calls it, and the client reads on when all have. */
interface BatchGate {
  _nextBatch?: (err?: Error | null) => void;
}

const readAheadOf = Symbol('vigil.readAhead');
type WithReadAhead = { [readAheadOf]?: () => ReadAhead };
const nothing: ReadAhead = () => undefined;

/**
 * aedes reads a connection's next chunk only once every packet of the current one is handled, and a readings
 * publish is handled when its PUBACK is written, after the fdatasync that makes it durable. A device's next
 * messages then wait in its socket while the main thread sits idle through the commit, so that with few devices
 * Vigil's rate follows the disk's sync latency rather than its CPU.
 *
 * With read-ahead a readings publish releases the client's reading as soon as it has been admitted and queued for
 * the outbox: the next chunk is parsed while this one syncs, and joins the next group commit. The PUBACK still
 * waits for the commit. Memory stays bounded by the admission's byte limit: a publish waiting there, or waiting
 * out its device's rate limit, has not been released.
 *
 * An early release stands in for the packet's own completion, which is then absorbed, so aedes counts every
 * packet once. It needs aedes 1.x's `_nextBatch` (test/gateway-read-ahead.e2e.test.ts fails without it); an
 * aedes without one gets no read-ahead and reads as it always has.
 */
export function enableReadAhead(client: Client): boolean {
  const gate = client as unknown as BatchGate;
  const completed = gate._nextBatch;
  if (typeof completed !== 'function') return false;
  let released = 0;
  gate._nextBatch = (err) => {
    if (!err && released > 0) {
      released -= 1;
      return;
    }
    completed(err);
  };
  (client as unknown as WithReadAhead)[readAheadOf] = () => {
    let used = false;
    return () => {
      if (used) return;
      used = true;
      released += 1;
      completed();
    };
  };
  return true;
}

/** The read-ahead of one publish from a client (one that does nothing for a client without read-ahead). */
export function readAheadFor(client: Client): ReadAhead {
  return (client as unknown as WithReadAhead)[readAheadOf]?.() ?? nothing;
}
