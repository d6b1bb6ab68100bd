import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import type { AuditLog } from '../../state/index.js';
import { cutoff, type RetentionKind, type RetentionPolicy } from './policy.js';
import type { StatePurges } from './state-purges.js';
import type { RetentionReadings } from './stored-readings.js';

export interface RetentionSweepOptions {
  readonly policy: RetentionPolicy;
  readonly purges: StatePurges;
  /** Ingest's rejection log purge (it deletes in its own chunks): called, not re-implemented. */
  readonly pruneRejections: (before: number) => number;
  /**
   * The embedded reading store: its purge, one batch of one patient, and the patients it holds readings of (not
   * the registry's: an orphan's readings go by the same horizon); absent with InfluxDB (its retention policy
   * applies).
   */
  readonly readings?: RetentionReadings | undefined;
  readonly audit: AuditLog;
  /** Rows per batch: small, so that no batch holds a database lock or the event loop for long. */
  readonly batchSize?: number;
  /** A run stops a kind after this many batches; what is left goes at the next run. */
  readonly maxBatches?: number;
  readonly now?: () => number;
}

export type RetentionCounts = Record<RetentionKind, number>;

/**
 * The scheduled retention run: for each kind with a period, deletes what is older in small batches, yielding
 * to the event loop between batches so that MQTT acknowledgements and the dashboard go on. Audited twice: as
 * started, with its cut-offs, before the first delete, and with what went once it ends.
 */
export class RetentionSweep {
  readonly #o: RetentionSweepOptions;
  readonly #batch: number;
  readonly #maxBatches: number;
  #stopped = false;

  constructor(options: RetentionSweepOptions) {
    this.#o = options;
    this.#batch = options.batchSize ?? 500;
    this.#maxBatches = options.maxBatches ?? 2_000;
  }

  /** Shutting down: the run in progress ends after its current batch (and still records what it did). */
  stop(): void {
    this.#stopped = true;
  }

  async #drain(purge: (limit: number) => number | Promise<number>): Promise<number> {
    let removed = 0;
    for (let i = 0; i < this.#maxBatches && !this.#stopped; i++) {
      const n = await purge(this.#batch);
      removed += n;
      if (n < this.#batch) break;
      await yieldToEventLoop();
    }
    return removed;
  }

  async run(): Promise<RetentionCounts> {
    const now = (this.#o.now ?? Date.now)();
    const { policy, purges } = this.#o;
    const counts: RetentionCounts = { audit: 0, deadLetters: 0, resolvedAlerts: 0, readings: 0, rejections: 0, care: 0 };
    const before = {
      audit: cutoff(policy.auditDays, now),
      deadLetters: cutoff(policy.deadLetterDays, now),
      resolvedAlerts: cutoff(policy.resolvedAlertDays, now),
      readings: this.#o.readings ? cutoff(policy.readingDays, now) : undefined,
      rejections: cutoff(policy.rejectionDays, now),
      care: cutoff(policy.careDays, now),
    } satisfies Record<RetentionKind, number | undefined>;
    const purge = async (t: number | undefined, one: (before: number, limit: number) => number | Promise<number>) => {
      await yieldToEventLoop();
      return t === undefined ? 0 : this.#drain((limit) => one(t, limit));
    };
    const iso = (t: number | undefined) => (t === undefined ? 'kept' : new Date(t).toISOString());
    const cutoffs = Object.fromEntries(Object.entries(before).map(([k, t]) => [k, iso(t)]));
    // Before anything is deleted, as an erasure does: a run killed midway (SIGKILL, a power cut) cannot record
    // what it deleted, and its deletions must not go unaudited. The entry's time is the run's, inside every
    // period, so this run does not purge it.
    this.#o.audit.record('vigil:retention', 'retention.run', null, null, { started: true, before: cutoffs }, now);
    // What went is audited also when a kind fails midway (a damaged reading store): the kinds before it were
    // deleted all the same.
    let failure: unknown;
    try {
      counts.audit = await purge(before.audit, purges.audit);
      counts.deadLetters = await purge(before.deadLetters, purges.deadLetters);
      counts.resolvedAlerts = await purge(before.resolvedAlerts, purges.resolvedAlerts);
      counts.care = (await purge(before.care, purges.careInbox)) + (await purge(before.care, purges.careMessages)) + (await purge(before.care, purges.careCheckinAnswers));
      if (before.rejections !== undefined) counts.rejections = this.#o.pruneRejections(before.rejections);
      const readings = this.#o.readings;
      if (readings) {
        for (const patientId of readings.patientIds()) {
          counts.readings += await purge(before.readings, (t, limit) => readings.purgeBefore(patientId, t, limit));
        }
      }
    } catch (err) {
      failure = err;
    }
    this.#o.audit.record('vigil:retention', 'retention.run', null, null, {
      removed: counts,
      before: cutoffs,
      ...(failure === undefined ? {} : { failed: failure instanceof Error ? failure.message : String(failure) }),
    }, now);
    if (failure !== undefined) throw failure;
    return counts;
  }
}
