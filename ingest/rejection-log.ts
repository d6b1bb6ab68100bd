import type { StateDb } from '../state/index.js';
import type { Rejection } from './parse-payload.js';

export interface RecordedRejection extends Rejection {
  readonly id: number;
  readonly deviceId: string;
  readonly patientId: string | null;
  readonly receivedAt: number;
}

interface PendingRejection extends Rejection {
  readonly deviceId: string;
  readonly patientId: string | null;
  readonly receivedAt: number;
}

/**
 * Keeps every rejection (device, reason, reading reference) so that it can be shown and investigated, not only
 * logged. Writes are buffered and committed together a few times a second: a storm of bad readings costs one
 * transaction per flush, not one fsync each.
 */
export class RejectionLog {
  readonly #db: StateDb;
  readonly #insert;
  readonly #pending: PendingRejection[] = [];
  readonly #maxPending: number;
  readonly #onLost: (count: number, err?: Error) => void;
  #timer: NodeJS.Timeout | undefined;

  constructor(db: StateDb, options: { maxPending?: number; onLost: (count: number, err?: Error) => void }) {
    this.#db = db;
    this.#maxPending = options.maxPending ?? 50_000;
    this.#onLost = options.onLost;
    this.#insert = db.prepare(
      'INSERT INTO rejections (device_id, patient_id, ref, code, message, reading_type, received_at) VALUES (?, ?, ?, ?, ?, ?, ?)',
    );
  }

  record(deviceId: string, patientId: string | null, rejections: readonly Rejection[], receivedAt: number): void {
    const room = this.#maxPending - this.#pending.length;
    if (rejections.length > room) this.#onLost(rejections.length - Math.max(room, 0));
    for (const r of rejections.slice(0, Math.max(room, 0))) this.#pending.push({ ...r, deviceId, patientId, receivedAt });
    this.#timer ??= setTimeout(() => this.flush(), 200);
  }

  flush(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#pending.length === 0) return;
    const batch = this.#pending.splice(0);
    try {
      this.#db.transaction(() => {
        for (const r of batch) {
          this.#insert.run(r.deviceId, r.patientId, r.ref, r.code, r.message, r.readingType ?? null, r.receivedAt);
        }
      })();
    } catch (err) {
      this.#onLost(batch.length, err as Error);
    }
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
        'SELECT device_id AS deviceId, COUNT(*) AS count FROM rejections WHERE received_at >= ? GROUP BY device_id',
      )
      .all(since);
    return new Map(rows.map((r) => [r.deviceId, r.count]));
  }

  /**
   * Deletes the rejections received before `before` (epoch ms), in chunks so that a large backlog never holds
   * the state database's write lock for long; returns how many went. Rejections are records to investigate,
   * not clinical data: kept for a retention period, then dropped, so a device that keeps failing cannot grow
   * the database without bound.
   */
  prune(before: number): number {
    this.flush();
    const chunk = this.#db.prepare('DELETE FROM rejections WHERE id IN (SELECT id FROM rejections WHERE received_at < ? LIMIT 5000)');
    let removed = 0;
    for (;;) {
      const { changes } = chunk.run(before);
      removed += changes;
      if (changes < 5000) return removed;
    }
  }

  recent(options: { deviceId?: string | undefined; limit?: number | undefined } = {}): RecordedRejection[] {
    this.flush();
    const limit = options.limit ?? 100;
    const rows = options.deviceId
      ? this.#db
          .prepare('SELECT * FROM rejections WHERE device_id = ? ORDER BY id DESC LIMIT ?')
          .all(options.deviceId, limit)
      : this.#db.prepare('SELECT * FROM rejections ORDER BY id DESC LIMIT ?').all(limit);
    return (rows as Record<string, unknown>[]).map((r) => ({
      id: r.id as number,
      deviceId: r.device_id as string,
      patientId: (r.patient_id as string | null) ?? null,
      ref: r.ref as string,
      code: r.code as Rejection['code'],
      message: r.message as string,
      readingType: (r.reading_type as string | null) ?? undefined,
      receivedAt: r.received_at as number,
    }));
  }

  close(): void {
    this.flush();
  }
}
