import { join } from 'node:path';
import type { Registry as MetricsRegistry } from 'prom-client';
import type { Registry } from '../registry/index.js';
import type { StateDb } from '../state/index.js';
import type { Reading } from '../domain/index.js';
import { DeadLetters } from './dead-letters.js';
import { Intake, type IntakeTiming } from './intake.js';
import { createIngestMetrics, registerOutboxGauges } from './metrics.js';
import { Outbox } from './outbox/outbox.js';
import type { ParseLimits } from './parse-payload.js';
import { RejectionLog } from './rejection-log.js';
import { Shipper } from './shipper.js';
import type { ReadingStore } from './store/index.js';

export { INGEST_MIGRATIONS } from './migrations.js';
export { parsePayload, type Rejection, type ParsedPayload, type ParseLimits } from './parse-payload.js';
export type { IngestOutcome, IntakeTiming } from './intake.js';
export { RejectionLog, type RecordedRejection } from './rejection-log.js';

/** Rejected readings per device id since a time (epoch ms): what `ingest.rejectionCounts` answers. */
export type RejectionCounts = (since: number) => Map<string, number>;
export { DeadLetters, type DeadLetter } from './dead-letters.js';
export * from './store/index.js';
/** The outbox's place in the data dir and its files, for backups (the position and the segments after it). */
export const OUTBOX_DIR = 'outbox';
export { readCheckpoint, writeCheckpoint } from './outbox/checkpoint.js';
export { listSegments, segmentPath, type Position } from './outbox/segments.js';

export interface IngestOptions {
  readonly dataDir: string;
  readonly db: StateDb;
  readonly registry: Registry;
  readonly store: ReadingStore;
  readonly metrics: MetricsRegistry;
  readonly limits: ParseLimits;
  readonly timing: IntakeTiming;
  readonly log: { warn(obj: object, msg: string): void; info(obj: object, msg: string): void; error(obj: object, msg: string): void };
  readonly shipBatchSize?: number;
  readonly storeRetryMaxMs?: number;
  readonly segmentBytes?: number;
  readonly onStored?: (readings: readonly Reading[]) => void;
  /**
   * Called for each reading found in the outbox at start-up (committed before a stop or crash, not yet stored),
   * so that rules see readings whose evaluation a crash may have cut short.
   */
  readonly onRecovered?: (reading: Reading) => void;
}

export interface IngestHealth {
  readonly outboxWritable: boolean;
  readonly outboxError: string | undefined;
  readonly outboxDepth: number;
  readonly outboxOldestAgeSeconds: number;
  readonly storeKind: ReadingStore['kind'];
  readonly storeReachable: boolean;
  /** The store refuses Vigil (credentials, permission, no database): the instance is not ready. */
  readonly storeMisconfigured: boolean;
  /** Damaged outbox records set aside in `outboxQuarantineDir` (for an operator to look at, then remove). */
  readonly outboxQuarantined: number;
  readonly outboxQuarantineDir: string;
  readonly storeError: string | undefined;
  readonly deadLetters: number;
}

export type Ingest = Awaited<ReturnType<typeof createIngest>>;

/**
 * Builds the ingest component: intake (validate, dedupe, durable outbox), the shipper that drains the outbox
 * into the reading store, and the rejection and dead-letter logs. Ready when it returns: the outbox has been
 * recovered and the shipper is running.
 */
export async function createIngest(options: IngestOptions) {
  const metrics = createIngestMetrics(options.metrics);
  const rejections = new RejectionLog(options.db, {
    onLost: (count, err) => {
      metrics.rejectionsUnrecorded.inc(count);
      options.log.error({ count, err }, 'rejections could not be recorded');
    },
  });
  const deadLetters = new DeadLetters(options.db);
  const recovered: Reading[] = [];
  let recoveredCount = 0;
  const onDamage = (what: string, details: Record<string, unknown>) => options.log.error(details, what);
  const outbox = await Outbox.open({ dir: join(options.dataDir, OUTBOX_DIR), segmentBytes: options.segmentBytes, onDamage }, (r) => {
    recoveredCount += 1;
    // Only the newest readings matter for duplicate detection; a long outage's backlog is not held in memory.
    if (recovered.length < 200_000) recovered.push(r);
    options.onRecovered?.(r);
  });
  const intake = new Intake({
    registry: options.registry,
    outbox,
    rejections,
    metrics,
    limits: options.limits,
    timing: options.timing,
  });
  for (const r of recovered) intake.remember(r);
  if (recoveredCount > 0) options.log.info({ readings: recoveredCount }, 'outbox recovered readings not yet stored');
  recovered.length = 0;

  const shipper = new Shipper({
    outbox,
    store: options.store,
    deadLetters,
    metrics,
    log: options.log,
    batchSize: options.shipBatchSize,
    maxBackoffMs: options.storeRetryMaxMs,
    onStored: options.onStored,
  });
  shipper.start();

  function oldestAgeSeconds(): number {
    const head = shipper.headReceivedAt;
    return head === undefined || outbox.depth === 0 ? 0 : Math.max(0, (Date.now() - head) / 1000);
  }

  function health(): IngestHealth {
    const error = outbox.lastError;
    return {
      outboxWritable: error === undefined,
      outboxError: error?.message,
      outboxDepth: outbox.depth,
      outboxOldestAgeSeconds: oldestAgeSeconds(),
      storeKind: options.store.kind,
      storeReachable: shipper.storeReachable,
      storeMisconfigured: shipper.storeMisconfigured,
      storeError: shipper.lastError?.message,
      deadLetters: deadLetters.pendingCount(),
      outboxQuarantined: outbox.quarantined,
      outboxQuarantineDir: outbox.quarantineDir,
    };
  }

  registerOutboxGauges(options.metrics, {
    depth: () => outbox.depth,
    oldestAgeSeconds,
    writable: () => outbox.lastError === undefined,
    quarantined: () => outbox.quarantined,
  });

  return {
    intake,
    store: options.store,
    rejections,
    deadLetters,
    health,
    /** Rejected readings per device id since `since` (epoch ms), current to the moment of the call. */
    rejectionCounts: ((since) => rejections.countsSince(since)) satisfies RejectionCounts,
    /** Commits what was handed over, drains to the store for up to drainMs, and closes. */
    async close(drainMs = 5_000): Promise<void> {
      await outbox.close();
      await shipper.stop(drainMs);
      rejections.close();
    },
  };
}
