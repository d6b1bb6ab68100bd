import type { Reading } from '../domain/index.js';

/** A message waiting for the commits that hold its readings, and the earlier copies of its duplicates. */
export interface CommitWaiter {
  /** Commits not yet settled that the message waits for. */
  pending: number;
  /** Why one of them failed: the message is then not acknowledged. */
  error: Error | undefined;
  /** The commit holding the message's own fresh readings, and when they were handed to it (performance.now()). */
  readonly own: PendingCommit | undefined;
  readonly appendedAt: number;
  /** Called once, when `pending` reaches 0. */
  readonly settle: (error: Error | undefined) => void;
}

/**
 * One group commit of the outbox as intake sees it: the fresh readings of the messages it holds and the messages
 * waiting for it. The outbox hands every append of a group commit the same promise; intake follows it with one
 * reaction per commit instead of a suspended async function per message (each held about a kilobyte while it
 * waited, and a thousand of them were in flight at 12,000 readings/s: docs/benchmarks.md).
 *
 * The duplicate window keeps the commit of each key it holds, so a settled commit lets go of its readings and
 * waiters: the window would otherwise keep the last 200,000 readings alive.
 */
export class PendingCommit {
  readonly durable: Promise<void>;
  state: 'pending' | 'durable' | 'failed' = 'pending';
  readings: Reading[] = [];
  waiters: CommitWaiter[] = [];

  constructor(durable: Promise<void>) {
    this.durable = durable;
  }

  /** Marks the commit settled and hands over what it held (once). */
  release(state: 'durable' | 'failed'): { readings: Reading[]; waiters: CommitWaiter[] } {
    const held = { readings: this.readings, waiters: this.waiters };
    this.state = state;
    this.readings = [];
    this.waiters = [];
    return held;
  }
}

/**
 * Tells each waiter one of its commits has settled, and settles those waiting for nothing more. Every waiter is
 * told even if one's answer throws (a device's PUBACK must not hang behind another's failure); the first error is
 * thrown afterwards, as an unhandled failure of the caller.
 */
export function notifyWaiters(waiters: readonly CommitWaiter[], error: Error | undefined): void {
  let thrown: { err: unknown } | undefined;
  for (const w of waiters) {
    if (error) w.error ??= error;
    if (--w.pending > 0) continue;
    try {
      w.settle(w.error);
    } catch (err) {
      thrown ??= { err };
    }
  }
  if (thrown) throw thrown.err;
}
