import type { Reading, ReadingType } from '../../domain/index.js';

/** A range of one patient's readings of one type; with `bucketMs`, aggregated into time buckets. */
export interface RangeQuery {
  readonly patientId: string;
  readonly type: ReadingType;
  /** Inclusive start, epoch ms. */
  readonly from: number;
  /** Exclusive end, epoch ms. */
  readonly to: number;
  /** Bucket width in ms (aligned to the epoch); absent for raw readings. */
  readonly bucketMs?: number | undefined;
  /** At most this many raw readings, oldest first. */
  readonly limit?: number | undefined;
}

export interface RawPoint {
  readonly time: number;
  readonly deviceId: string;
  readonly fields: Readonly<Record<string, number>>;
  readonly tags: Readonly<Record<string, string>>;
}

export interface FieldAggregate {
  readonly mean: number;
  readonly min: number;
  readonly max: number;
  readonly sum: number;
  readonly count: number;
}

export interface AggregatePoint {
  /** Start of the bucket, epoch ms. */
  readonly time: number;
  readonly fields: Readonly<Record<string, FieldAggregate>>;
}

/** A range of one field's values; each bound inclusive (gte, lte) or exclusive (gt, lt), any of them absent. */
export interface ValueRange {
  readonly gt?: number | undefined;
  readonly gte?: number | undefined;
  readonly lt?: number | undefined;
  readonly lte?: number | undefined;
}

/** The distribution of one field over a time range, computed in the store (a year of CGM is 105,000 points). */
export interface DistributionQuery extends RangeQuery {
  /** One of STORED_FIELDS[type]. */
  readonly field: string;
  /** Count the values in each of these ranges. */
  readonly ranges: readonly ValueRange[];
  /** Only points with these tag values (keys from STORED_TAGS[type]), e.g. { source: 'cgm' }. */
  readonly tags?: Readonly<Record<string, string>> | undefined;
}

export interface Distribution {
  /** Points that have the field. */
  readonly count: number;
  readonly mean: number | null;
  /** Sample standard deviation (n - 1), as InfluxQL's STDDEV; null below two values. */
  readonly stddev: number | null;
  /** Values in each requested range, in the order asked. */
  readonly inRanges: readonly number[];
}

/** Throws on a field or tag the type does not store: names go into query text, so only known ones may. */
export function checkDistributionQuery(q: DistributionQuery): void {
  if (!STORED_FIELDS[q.type].includes(q.field)) throw new RangeError(`${q.type} stores no field "${q.field}"`);
  for (const key of Object.keys(q.tags ?? {})) {
    if (!STORED_TAGS[q.type].includes(key)) throw new RangeError(`${q.type} has no tag "${key}"`);
  }
  for (const r of q.ranges) {
    for (const bound of [r.gt, r.gte, r.lt, r.lte]) if (bound !== undefined && !Number.isFinite(bound)) throw new RangeError('a range bound must be a finite number');
  }
}

/** Which of a patient's time spans (local days, say) hold at least one reading of any type. */
export interface SpansQuery {
  readonly patientId: string;
  /** Half-open spans [from, to), epoch ms, in any order; at most MAX_SPANS. */
  readonly spans: readonly { readonly from: number; readonly to: number }[];
}

/** A query covers at most a quarter of days (the longest report period, with room for clock-change days). */
export const MAX_SPANS = 100;

/**
 * Where readings end up. Writes are idempotent: a reading written twice (a replay after a crash) is stored once,
 * because the same (device, type, time, message id) maps to the same point.
 */
export interface ReadingStore {
  readonly kind: 'influxdb' | 'sqlite';
  /** Throws StoreUnavailableError (retry later) or StoreRejectedError (the store refuses these readings). */
  write(readings: readonly Reading[]): Promise<void>;
  queryRaw(query: RangeQuery): Promise<RawPoint[]>;
  queryAggregate(query: RangeQuery & { bucketMs: number }): Promise<AggregatePoint[]>;
  /** Deletes every reading of a patient (the right to erasure); returns how many went where the store can tell. */
  erasePatient(patientId: string): Promise<number | undefined>;
  /** Count, mean, SD and counts in value ranges of one field, aggregated by the store. */
  queryDistribution(query: DistributionQuery): Promise<Distribution>;
  /**
   * For each span, whether the patient has a reading of any type in it: an existence probe per span, so a
   * month of CGM (8,600 points) costs a handful of index seeks, not a scan (the programme report's days).
   */
  querySpansWithReadings(query: SpansQuery): Promise<boolean[]>;
  /** Throws when the store cannot be reached. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

/** Transient: network error, timeout, 5xx, 429. The outbox keeps the readings and the shipper retries. */
export class StoreUnavailableError extends Error {
  /**
   * The store answered, but will not take Vigil's writes until an operator acts: credentials refused (401),
   * permission missing (403), database or bucket missing (404). Readings wait in the outbox like in an outage,
   * and the instance reports itself not ready, with this reason, instead of merely degraded.
   */
  readonly misconfigured: boolean;
  constructor(message: string, options?: { cause?: unknown; misconfigured?: boolean }) {
    super(message, options);
    this.name = 'StoreUnavailableError';
    this.misconfigured = options?.misconfigured ?? false;
  }
}

/** Permanent for these readings (a 4xx): retrying the same bytes cannot succeed, so they go to dead letters. */
export class StoreRejectedError extends Error {
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.name = 'StoreRejectedError';
    this.status = status;
  }
}

/** The numeric fields each type stores, in a stable order (the first is the primary value). */
export const STORED_FIELDS: Readonly<Record<ReadingType, readonly string[]>> = {
  blood_pressure: ['systolic', 'diastolic', 'pulse', 'irregular'],
  // hi / lo: 1 when a meter showed HI or LO instead of a number (a point may have no value then).
  glucose: ['value', 'trend_rate', 'hi', 'lo'],
  weight: ['value'],
  spo2: ['value', 'pulse'],
  heart_rate: ['value'],
  temperature: ['value'],
  steps: ['count', 'period_s'],
  fall: ['confidence'],
};

/** Tags besides patient_id and device_id. */
export const STORED_TAGS: Readonly<Record<ReadingType, readonly string[]>> = {
  blood_pressure: [],
  glucose: ['source', 'meal'],
  weight: [],
  spo2: [],
  heart_rate: [],
  temperature: [],
  steps: [],
  fall: [],
};
