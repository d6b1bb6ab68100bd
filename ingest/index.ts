import { join } from 'node:path';
import type { Registry as MetricsRegistry } from 'prom-client';
import type { Registry } from '../registry/index.js';
import type { StateDb } from '../state/index.js';
import { VigilError, type Reading } from '../domain/index.js';
import { DeadLetters } from './dead-letters.js';
import { Intake, type IntakeTiming } from './intake.js';
import { createIngestMetrics, registerClockSkewGauges, registerOutboxGauges } from './metrics.js';
import { Outbox } from './outbox/outbox.js';
import { NewestRecovered } from './newest-recovered.js';
import type { ParseLimits } from './parse-payload.js';
import { ClockSkew, type ClockSkewEstimate, type ClockSkewOptions } from './clock-skew.js';
import { RejectionLog, type ReplayResult } from './rejection-log.js';
import { RejectionReplay } from './rejection-replay.js';
import { Shipper } from './shipper.js';
import type { ReadingStore } from './store/index.js';

export { INGEST_MIGRATIONS } from './migrations.js';
export { parseJsonPayload, parsePayload, type Rejection, type ParsedPayload, type ParseLimits, type PayloadItem } from './parse-payload.js';
export type { IngestOutcome, IntakeAnswer, IntakeTiming, PayloadFormat, TranslatedItems } from './intake.js';
export { RejectionLog, type RecordedRejection, type RejectedPublish, type RejectedTopic, type RejectionFilter, type ReplayResult } from './rejection-log.js';
export type { ClockSkewEstimate } from './clock-skew.js';

/** Rejected readings per device id since a time (epoch ms): what `ingest.rejectionCounts` answers. */
export type RejectionCounts = (since: number) => Map<string, number>;
export { DeadLetters, type DeadLetter } from './dead-letters.js';
export * from './store/index.js';
/** The outbox's place in the data dir and its files, for backups (the position and the segments after it). */
export const OUTBOX_DIR = 'outbox';
export { NewestRecovered } from './newest-recovered.js';
/** Recovered readings whose keys seed duplicate detection: the newest this many (the intake's default window). */
const RECOVERED_FOR_DEDUPE = 200_000;
export { readCheckpoint, writeCheckpoint } from './outbox/checkpoint.js';
export { listSegments, segmentPath, type Position } from './outbox/segments.js';
export { decodeRecords, patientMarker } from './outbox/record-codec.js';
export { blankShippedRecords } from './outbox/blank-shipped.js';
export { eraseQuarantinedRecords } from './outbox/erase-quarantined.js';

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
  /** Bounds on the rejected payloads kept for replay: per publish, and in all (the oldest go first). */
  readonly rejectionPayloads?: { readonly maxBytes: number; readonly maxTotalBytes: number };
  readonly clockSkew?: ClockSkewOptions;
  /** Records each replay of a rejected publish in the audit log. */
  readonly auditReplay?: (rejectionId: number, deviceId: string, result: ReplayResult) => void;
  /** The server clock intake judges reading times by (a test makes it slow). */
  readonly now?: () => number;
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
  /** Whether devices' readings say the server clock is behind theirs. */
  readonly clock: ClockSkewEstimate;
}

export type Ingest = Awaited<ReturnType<typeof createIngest>>;

/**
 * Damaged records are set aside by the outbox itself; what is left is a directory that cannot be used at all
 * (a file in its place, a segment that is a directory, no permission): stop with the path, not a stack trace.
 */
async function openOutbox(dir: string, open: () => Promise<Outbox>): Promise<Outbox> {
  try {
    return await open();
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (typeof e.code !== 'string' || typeof e.syscall !== 'string') throw err;
    throw new VigilError('VIGIL_ERR_DATA_CORRUPT', `the outbox at ${dir} cannot be used (${e.code} on ${e.syscall}${e.path ? ` ${e.path}` : ''}): move the file in the way aside`, { cause: err });
  }
}

/**
 * Builds the ingest component: intake (validate, dedupe, durable outbox), the shipper that drains the outbox
 * into the reading store, and the rejection and dead-letter logs. Ready when it returns: the outbox has been
 * recovered and the shipper is running.
 */
export async function createIngest(options: IngestOptions) {
  const metrics = createIngestMetrics(options.metrics);
  const rejections = new RejectionLog(options.db, {
    maxPayloadBytes: options.rejectionPayloads?.maxBytes,
    maxTotalPayloadBytes: options.rejectionPayloads?.maxTotalBytes,
    onLost: (count, err) => {
      metrics.rejectionsUnrecorded.inc(count);
      options.log.error({ count, err }, 'rejections could not be recorded');
    },
    onPayloadDropped: (reason, count) => metrics.rejectionPayloadsDropped.inc({ reason }, count),
  });
  const now = options.now ?? Date.now;
  const clockSkew = new ClockSkew(options.clockSkew ?? { thresholdMs: 2 * 60_000, minDevices: 3 });
  const deadLetters = new DeadLetters(options.db);
  const recovered = new NewestRecovered(RECOVERED_FOR_DEDUPE);
  const onDamage = (what: string, details: Record<string, unknown>) => options.log.error(details, what);
  const outbox = await openOutbox(join(options.dataDir, OUTBOX_DIR), () =>
    Outbox.open({ dir: join(options.dataDir, OUTBOX_DIR), segmentBytes: options.segmentBytes, onDamage }, (r) => {
      recovered.add(r);
      options.onRecovered?.(r);
    }),
  );
  const intake = new Intake({
    registry: options.registry,
    outbox,
    rejections,
    metrics,
    limits: options.limits,
    timing: options.timing,
    now,
    clockSkew,
  });
  for (const r of recovered.take()) intake.remember(r);
  if (recovered.seen > 0) options.log.info({ readings: recovered.seen }, 'outbox recovered readings not yet stored');

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
  const replay = new RejectionReplay({
    rejections,
    intake,
    isRevoked: (deviceId) => (options.registry.getDevice(deviceId)?.revokedAt ?? null) !== null,
    audit: options.auditReplay ?? (() => undefined),
    log: options.log,
  });
  replay.start();

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
      clock: clockSkew.estimate(now()),
    };
  }

  registerOutboxGauges(options.metrics, {
    depth: () => outbox.depth,
    oldestAgeSeconds,
    writable: () => outbox.lastError === undefined,
    quarantined: () => outbox.quarantined,
  });
  registerClockSkewGauges(options.metrics, () => clockSkew.estimate(now()));

  return {
    intake,
    store: options.store,
    rejections,
    /** Carries out requested replays of rejected publishes now (the server also does so every 2 s). */
    replayRejections: () => replay.runOnce(),
    deadLetters,
    health,
    /** Rejected readings per device id since `since` (epoch ms), current to the moment of the call. */
    rejectionCounts: ((since) => rejections.countsSince(since)) satisfies RejectionCounts,
    /** Commits what was handed over, drains to the store for up to drainMs, and closes. */
    async close(drainMs = 5_000): Promise<void> {
      await replay.stop();
      await outbox.close();
      await shipper.stop(drainMs);
      await outbox.persistCheckpoint();
      rejections.close();
    },
  };
}
