import { countByCode, listRejections, type ListedRejection } from '../domain/index.js';
import type { StateDb } from '../state/index.js';
import type { Rejection } from './parse-payload.js';

/**
 * Why a rejected publish has no payload to replay. `unserialisable`: its rejected items could not be written as
 * JSON (nested too deep for JSON.stringify, say); the row is kept without them rather than lost with its batch.
 */
export type PayloadNote = 'too_large' | 'evicted' | 'backlog' | 'unserialisable';

/** What a replay of a kept payload gave (the same outcome a device publish gets), or why it could not run. */
export interface ReplayResult {
  readonly accepted: number;
  readonly duplicates: number;
  readonly rejected: number;
  readonly error?: string;
}

/** One rejected publish: what was wrong with it, summarised, and whether its rejected items are kept. */
export interface RecordedRejection {
  readonly id: number;
  /** What was refused: a readings message, or a hub's reply (never replayed). */
  readonly topic: RejectedTopic;
  readonly deviceId: string;
  readonly patientId: string | null;
  readonly receivedAt: number;
  /** The first rejection of the publish (what the errors topic shows at its top level). */
  readonly ref: string;
  readonly code: Rejection['code'];
  readonly message: string;
  readonly readingType: string | undefined;
  /** How many readings of the publish were rejected (1 for a message refused whole). */
  readonly rejected: number;
  readonly codes: Readonly<Record<string, number>>;
  /** The first MAX_LISTED_REJECTIONS rejections. */
  readonly examples: readonly ListedRejection[];
  /** Bytes of the kept payload (0 when none is kept: see payloadNote). */
  readonly payloadBytes: number;
  readonly payloadNote: PayloadNote | null;
  readonly replayRequestedAt: number | null;
  readonly replayedAt: number | null;
  readonly replayResult: ReplayResult | null;
}

export type RejectedTopic = 'readings' | 'replies';

/** A publish with rejected readings, as intake hands it over (or a hub's refused reply). */
export interface RejectedPublish {
  /** Readings unless said otherwise. */
  readonly topic?: RejectedTopic | undefined;
  readonly deviceId: string;
  readonly patientId: string | null;
  readonly receivedAt: number;
  readonly rejections: readonly Rejection[];
  /** The message as published. Kept whole when every item of it was rejected, otherwise only the rejected items. */
  readonly payload: Buffer;
  readonly allRejected: boolean;
}

/** Which rejected publishes: every given criterion must hold (none given: all). */
export interface RejectionFilter {
  readonly ids?: readonly number[] | undefined;
  readonly deviceId?: string | undefined;
  /** Publishes with at least one rejection of this code. */
  readonly code?: string | undefined;
  /** received_at >= since (epoch ms). */
  readonly since?: number | undefined;
  /** received_at < until (epoch ms). */
  readonly until?: number | undefined;
}

export interface PendingReplay {
  readonly id: number;
  readonly deviceId: string;
  readonly payload: Buffer;
}

export interface RejectionLogOptions {
  /** Publishes waiting for the next flush; past it the rejections are counted as lost (onLost). */
  readonly maxPending?: number;
  /** Largest payload kept for one publish (VIGIL_REJECTION_PAYLOAD_MAX_BYTES). */
  readonly maxPayloadBytes?: number;
  /** Payloads kept in all (VIGIL_REJECTION_PAYLOADS_MAX_MB): past it the oldest are dropped first. */
  readonly maxTotalPayloadBytes?: number;
  readonly onLost: (count: number, err?: Error) => void;
  readonly onPayloadDropped?: (reason: PayloadNote, count: number) => void;
}

interface Row {
  id: number;
  topic: RejectedTopic;
  device_id: string;
  patient_id: string | null;
  ref: string;
  code: string;
  message: string;
  reading_type: string | null;
  received_at: number;
  rejected: number;
  codes: string | null;
  examples: string | null;
  payload_bytes: number;
  payload_note: string | null;
  replay_requested_at: number | null;
  replayed_at: number | null;
  replay_result: string | null;
}

const FILTER = `(@ids IS NULL OR id IN (SELECT value FROM json_each(@ids)))
  AND (@device IS NULL OR device_id = @device)
  AND (@code IS NULL OR code = @code OR EXISTS (SELECT 1 FROM json_each(codes) WHERE key = @code))
  AND (@since IS NULL OR received_at >= @since) AND (@until IS NULL OR received_at < @until)`;

function filterParams(filter: RejectionFilter) {
  return {
    ids: filter.ids ? JSON.stringify(filter.ids) : null,
    device: filter.deviceId ?? null,
    code: filter.code ?? null,
    since: filter.since ?? null,
    until: filter.until ?? null,
  };
}

function toRecorded(r: Row): RecordedRejection {
  const first = { ref: r.ref, code: r.code, message: r.message, ...(r.reading_type === null ? {} : { readingType: r.reading_type }) };
  return {
    id: r.id,
    topic: r.topic,
    deviceId: r.device_id,
    patientId: r.patient_id,
    receivedAt: r.received_at,
    ref: r.ref,
    code: r.code as Rejection['code'],
    message: r.message,
    readingType: r.reading_type ?? undefined,
    rejected: r.rejected,
    // Rows from before one row per publish hold one rejection each.
    codes: r.codes ? (JSON.parse(r.codes) as Record<string, number>) : { [r.code]: 1 },
    examples: r.examples ? (JSON.parse(r.examples) as ListedRejection[]) : [first],
    payloadBytes: r.payload_bytes,
    payloadNote: r.payload_note as PayloadNote | null,
    replayRequestedAt: r.replay_requested_at,
    replayedAt: r.replayed_at,
    replayResult: r.replay_result ? (JSON.parse(r.replay_result) as ReplayResult) : null,
  };
}

/**
 * The rejected items of a publish as the JSON array a replay takes, or null when they cannot be written (an item
 * nested past what JSON.stringify's recursion takes throws a RangeError). Serialising is the one step of a row
 * that runs over what a device sent: caught here, per publish, so that one such item costs its own payload, not
 * the rows of every other device flushed in the same transaction.
 */
function rejectedItems(rejections: readonly Rejection[]): Buffer | null {
  try {
    return Buffer.from(JSON.stringify(rejections.map((r) => r.item ?? null)));
  } catch {
    return null;
  }
}

/**
 * Keeps every rejected publish as one row (device, counts per code, the first rejections, and the rejected items
 * themselves so they can be replayed once the cause is fixed), so that it can be shown, investigated and
 * replayed, not only logged. Writes are buffered and committed together a few times a second: a storm of bad
 * readings costs one transaction per flush, not one fsync each, and the serialising happens then, off the
 * device's acknowledgement.
 */
export class RejectionLog {
  readonly #db: StateDb;
  readonly #insert;
  readonly #pending: RejectedPublish[] = [];
  #pendingPayloadBytes = 0;
  readonly #maxPending: number;
  readonly #maxPayloadBytes: number;
  readonly #maxTotalPayloadBytes: number;
  readonly #onLost: RejectionLogOptions['onLost'];
  readonly #onPayloadDropped: NonNullable<RejectionLogOptions['onPayloadDropped']>;
  /** Bytes of payloads kept in the table (counted at this writer's first write, then kept up to date by it). */
  #payloadBytes: number | undefined;
  #timer: NodeJS.Timeout | undefined;

  constructor(db: StateDb, options: RejectionLogOptions) {
    this.#db = db;
    this.#maxPending = options.maxPending ?? 10_000;
    this.#maxPayloadBytes = options.maxPayloadBytes ?? 256 * 1024;
    this.#maxTotalPayloadBytes = options.maxTotalPayloadBytes ?? 256 * 1024 * 1024;
    this.#onLost = options.onLost;
    this.#onPayloadDropped = options.onPayloadDropped ?? (() => undefined);
    this.#insert = db.prepare(
      `INSERT INTO rejections (device_id, patient_id, ref, code, message, reading_type, received_at, rejected, codes, examples, payload, payload_bytes, payload_note, topic)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
  }

  /** Takes one rejected publish; O(1): the summary and the kept items are built at the next flush. */
  record(publish: RejectedPublish): void {
    if (publish.rejections.length === 0) return;
    if (this.#pending.length >= this.#maxPending) {
      this.#onLost(publish.rejections.length);
      return;
    }
    this.#pending.push(publish);
    this.#pendingPayloadBytes += publish.payload.length;
    this.#timer ??= setTimeout(() => this.flush(), 200);
  }

  flush(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#pending.length === 0) return;
    const batch = this.#pending.splice(0);
    this.#payloadBytes ??= this.#countPayloadBytes();
    // Payloads waiting beyond a few full-size messages per flush are a storm: keep its summaries, not its bytes.
    const keepBytes = this.#pendingPayloadBytes <= 8 * this.#maxPayloadBytes ? Infinity : 8 * this.#maxPayloadBytes;
    this.#pendingPayloadBytes = 0;
    let kept = 0;
    const dropped: Record<PayloadNote, number> = { too_large: 0, evicted: 0, backlog: 0, unserialisable: 0 };
    try {
      this.#db.transaction(() => {
        for (const p of batch) {
          const first = p.rejections[0]!;
          let payload: Buffer | null = null;
          let note: PayloadNote | null = null;
          if (kept + p.payload.length > keepBytes) note = 'backlog';
          else {
            payload = p.allRejected ? p.payload : rejectedItems(p.rejections);
            if (payload === null) note = 'unserialisable';
            else if (payload.length > this.#maxPayloadBytes) [payload, note] = [null, 'too_large'];
          }
          if (note) dropped[note] += 1;
          kept += payload?.length ?? 0;
          this.#insert.run(
            p.deviceId,
            p.patientId,
            first.ref,
            first.code,
            first.message,
            first.readingType ?? null,
            p.receivedAt,
            p.rejections.length,
            JSON.stringify(countByCode(p.rejections)),
            JSON.stringify(listRejections(p.rejections)),
            payload,
            payload?.length ?? 0,
            note,
            p.topic ?? 'readings',
          );
        }
      })();
      this.#payloadBytes += kept;
    } catch (err) {
      this.#onLost(batch.reduce((n, p) => n + p.rejections.length, 0), err as Error);
      return;
    }
    for (const reason of ['too_large', 'backlog', 'unserialisable'] as const) if (dropped[reason] > 0) this.#onPayloadDropped(reason, dropped[reason]);
    if (this.#payloadBytes! > this.#maxTotalPayloadBytes) this.#evictOldestPayloads();
  }

  /** Drops the oldest kept payloads (the rows stay) until the total is back under the bound. */
  #evictOldestPayloads(): void {
    let total = this.#payloadBytes!;
    const oldest = this.#db.prepare<[], { id: number; bytes: number }>(
      'SELECT id, payload_bytes AS bytes FROM rejections WHERE payload IS NOT NULL ORDER BY id LIMIT 1000',
    );
    const drop = this.#db.prepare("UPDATE rejections SET payload = NULL, payload_bytes = 0, payload_note = 'evicted' WHERE payload IS NOT NULL AND id <= ?");
    let evicted = 0;
    while (total > this.#maxTotalPayloadBytes) {
      const rows = oldest.all();
      if (rows.length === 0) break;
      let last = 0;
      for (const r of rows) {
        last = r.id;
        total -= r.bytes;
        if (total <= this.#maxTotalPayloadBytes) break;
      }
      evicted += drop.run(last).changes;
    }
    this.#payloadBytes = total;
    if (evicted > 0) this.#onPayloadDropped('evicted', evicted);
  }

  #countPayloadBytes(): number {
    return (this.#db.prepare('SELECT COALESCE(SUM(payload_bytes), 0) AS n FROM rejections WHERE payload IS NOT NULL').get() as { n: number }).n;
  }

  /**
   * Rejected readings per device id received at or after `since` (epoch ms), for the data-quality rule: a
   * device whose readings keep failing validation is a device problem the care team should hear of. A message
   * refused whole (not JSON, too large) counts once. Pending rejections are committed first, so the answer
   * includes what arrived in the last few hundred milliseconds.
   */
  countsSince(since: number): Map<string, number> {
    this.flush();
    const rows = this.#db
      .prepare<[number], { deviceId: string; count: number }>(
        'SELECT device_id AS deviceId, SUM(rejected) AS count FROM rejections WHERE received_at >= ? GROUP BY device_id',
      )
      .all(since);
    return new Map(rows.map((r) => [r.deviceId, r.count]));
  }

  /**
   * Deletes the rejections received before `before` (epoch ms), with their payloads, in chunks so that a large
   * backlog never holds the state database's write lock for long; returns how many went. Rejections are records
   * to investigate, not clinical data: kept for a retention period, then dropped, so a device that keeps
   * failing cannot grow the database without bound.
   */
  prune(before: number): number {
    this.flush();
    const chunk = this.#db.prepare('DELETE FROM rejections WHERE id IN (SELECT id FROM rejections WHERE received_at < ? LIMIT 5000)');
    let removed = 0;
    for (;;) {
      const { changes } = chunk.run(before);
      removed += changes;
      if (changes < 5000) break;
    }
    if (removed > 0) this.#payloadBytes = undefined;
    return removed;
  }

  /** Rejected publishes, newest first, filtered and paged in SQL. */
  recent(options: RejectionFilter & { limit?: number | undefined } = {}): RecordedRejection[] {
    this.flush();
    return this.#db
      .prepare<Record<string, unknown>, Row>(
        `SELECT id, topic, device_id, patient_id, ref, code, message, reading_type, received_at, rejected, codes, examples, payload_bytes,
                payload_note, replay_requested_at, replayed_at, replay_result
         FROM rejections WHERE ${FILTER} ORDER BY id DESC LIMIT @limit`,
      )
      .all({ ...filterParams(options), limit: options.limit ?? 100 })
      .map(toRecorded);
  }

  /** The kept payload of one rejected publish, as it will be replayed. */
  payload(id: number): Buffer | undefined {
    this.flush();
    const row = this.#db.prepare<[number], { payload: Buffer | null }>('SELECT payload FROM rejections WHERE id = ?').get(id);
    return row?.payload ?? undefined;
  }

  /**
   * Marks the chosen rejected publishes for replay by the running server (again, if they were replayed before:
   * duplicate detection stores a reading once). Only readings publishes with a kept payload can be replayed;
   * `skipped` counts the others that matched (a hub's reply is never replayed into the readings intake).
   */
  requestReplay(filter: RejectionFilter, at: number = Date.now()): { ids: number[]; skipped: number } {
    this.flush();
    const params = filterParams(filter);
    return this.#db.transaction(() => {
      const ids = this.#db
        .prepare<Record<string, unknown>, { id: number }>(
          `UPDATE rejections SET replay_requested_at = @at, replayed_at = NULL, replay_result = NULL
           WHERE payload IS NOT NULL AND topic = 'readings' AND ${FILTER} RETURNING id`,
        )
        .all({ ...params, at })
        .map((r) => r.id)
        .sort((a, b) => a - b);
      const { n } = this.#db
        .prepare<Record<string, unknown>, { n: number }>(`SELECT COUNT(*) AS n FROM rejections WHERE (payload IS NULL OR topic <> 'readings') AND ${FILTER}`)
        .get(params)!;
      return { ids, skipped: n };
    }).immediate();
  }

  /** Replays asked for and not yet carried out, oldest first. */
  pendingReplays(limit = 50): PendingReplay[] {
    return this.#db
      .prepare<[number], { id: number; deviceId: string; payload: Buffer }>(
        `SELECT id, device_id AS deviceId, payload FROM rejections
         WHERE replay_requested_at IS NOT NULL AND replayed_at IS NULL AND payload IS NOT NULL AND topic = 'readings' ORDER BY id LIMIT ?`,
      )
      .all(limit);
  }

  markReplayed(id: number, result: ReplayResult, at: number = Date.now()): void {
    this.#db.prepare('UPDATE rejections SET replayed_at = ?, replay_result = ? WHERE id = ?').run(at, JSON.stringify(result), id);
  }

  close(): void {
    this.flush();
  }
}
