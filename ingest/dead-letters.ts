import { keyOf, type Reading } from '../domain/index.js';
import type { StateDb } from '../state/index.js';

export interface DeadLetter {
  readonly id: number;
  readonly reading: Reading;
  readonly status: number;
  readonly error: string;
  readonly createdAt: number;
  readonly replayRequestedAt: number | null;
  readonly replayedAt: number | null;
}

interface DeadLetterRow {
  id: number;
  reading: string;
  status: number;
  error: string;
  created_at: number;
  replay_requested_at: number | null;
  replayed_at: number | null;
}

function toDeadLetter(row: DeadLetterRow): DeadLetter {
  return {
    id: row.id,
    reading: JSON.parse(row.reading) as Reading,
    status: row.status,
    error: row.error,
    createdAt: row.created_at,
    replayRequestedAt: row.replay_requested_at,
    replayedAt: row.replayed_at,
  };
}

/**
 * Readings the reading store refused (4xx). They are kept, visible (CLI, metrics) and replayable: an operator
 * fixes the cause (a field type conflict, a retention policy, a permission) and asks for a replay, which the
 * running server's shipper carries out.
 */
export class DeadLetters {
  readonly #db: StateDb;

  constructor(db: StateDb) {
    this.#db = db;
  }

  add(reading: Reading, status: number, error: string): void {
    this.#db
      .prepare(
        'INSERT INTO dead_letters (reading_key, device_id, patient_id, reading_type, reading, status, error, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
      )
      .run(keyOf(reading), reading.deviceId, reading.patientId, reading.type, JSON.stringify(reading), status, error, Date.now());
  }

  list(options: { includeReplayed?: boolean; limit?: number } = {}): DeadLetter[] {
    const where = options.includeReplayed ? '' : 'WHERE replayed_at IS NULL';
    return this.#db
      .prepare<[number], DeadLetterRow>(`SELECT * FROM dead_letters ${where} ORDER BY id LIMIT ?`)
      .all(options.limit ?? 1000)
      .map(toDeadLetter);
  }

  /** Marks dead letters for replay (all pending ones when no ids are given); returns how many. */
  requestReplay(ids?: readonly number[]): number {
    const now = Date.now();
    if (!ids) {
      return this.#db.prepare('UPDATE dead_letters SET replay_requested_at = ? WHERE replayed_at IS NULL').run(now).changes;
    }
    const stmt = this.#db.prepare('UPDATE dead_letters SET replay_requested_at = ? WHERE id = ? AND replayed_at IS NULL');
    return this.#db.transaction(() => ids.reduce((n, id) => n + stmt.run(now, id).changes, 0))();
  }

  replayRequested(limit = 500): DeadLetter[] {
    return this.#db
      .prepare<[number], DeadLetterRow>(
        'SELECT * FROM dead_letters WHERE replay_requested_at IS NOT NULL AND replayed_at IS NULL ORDER BY id LIMIT ?',
      )
      .all(limit)
      .map(toDeadLetter);
  }

  markReplayed(ids: readonly number[]): void {
    const stmt = this.#db.prepare('UPDATE dead_letters SET replayed_at = ? WHERE id = ?');
    const now = Date.now();
    this.#db.transaction(() => ids.forEach((id) => stmt.run(now, id)))();
  }

  /** A replay the store refused again: back to waiting for the operator. */
  replayFailed(id: number, status: number, error: string): void {
    this.#db
      .prepare('UPDATE dead_letters SET replay_requested_at = NULL, status = ?, error = ? WHERE id = ?')
      .run(status, error, id);
  }

  pendingCount(): number {
    return (this.#db.prepare('SELECT count(*) AS n FROM dead_letters WHERE replayed_at IS NULL').get() as { n: number }).n;
  }
}
