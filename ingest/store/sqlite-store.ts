import type Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { READING_TYPES, type Reading } from '../../domain/index.js';
import { openSqlite } from '../../state/index.js';
import { tiebreakNanos } from './line-protocol.js';
import {
  STORED_FIELDS,
  STORED_TAGS,
  StoreUnavailableError,
  type AggregatePoint,
  type FieldAggregate,
  type RangeQuery,
  type RawPoint,
  type ReadingStore,
} from './reading-store.js';

export const READINGS_DB_FILE = 'readings.db';

interface RawRow {
  time: number;
  device_id: string;
  fields: string;
  tags: string;
}

/**
 * The embedded reading store for installations without InfluxDB (and the quick start). Same contract as the
 * InfluxDB store: a point is identified by (type, patient, device, tags, time + message-id tiebreak), and
 * writing it again replaces it. It lives in its own database file so that bulk reading writes never hold the
 * lock that provisioning and alert state need.
 */
export class SqliteStore implements ReadingStore {
  readonly kind = 'sqlite';
  readonly #db: Database.Database;
  readonly #insert: Database.Statement;
  readonly #writeMany: (readings: readonly Reading[]) => void;

  constructor(dataDir: string) {
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    this.#db = openSqlite(join(dataDir, READINGS_DB_FILE));
    // FULL: the shipper advances the outbox checkpoint after this commit, so it must be on disk.
    this.#db.exec('PRAGMA journal_mode = WAL; PRAGMA busy_timeout = 5000; PRAGMA synchronous = FULL;');
    this.#db.exec(`CREATE TABLE IF NOT EXISTS readings (
      type TEXT NOT NULL,
      patient_id TEXT NOT NULL,
      device_id TEXT NOT NULL,
      series_tags TEXT NOT NULL,
      time INTEGER NOT NULL,
      tiebreak INTEGER NOT NULL,
      fields TEXT NOT NULL,
      tags TEXT NOT NULL,
      PRIMARY KEY (type, patient_id, device_id, series_tags, time, tiebreak)
    ) WITHOUT ROWID;
    CREATE INDEX IF NOT EXISTS readings_by_patient ON readings(patient_id, type, time);`);
    this.#insert = this.#db.prepare(
      'INSERT OR REPLACE INTO readings (type, patient_id, device_id, series_tags, time, tiebreak, fields, tags) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
    );
    this.#writeMany = this.#db.transaction((readings: readonly Reading[]) => {
      for (const r of readings) {
        const tags = JSON.stringify(Object.fromEntries(Object.entries(r.tags).sort(([a], [b]) => a.localeCompare(b))));
        this.#insert.run(r.type, r.patientId, r.deviceId, tags, r.time, tiebreakNanos(r.msgId), JSON.stringify(r.fields), tags);
      }
    });
  }

  async write(readings: readonly Reading[]): Promise<void> {
    try {
      this.#writeMany(readings);
    } catch (err) {
      // SQLITE_BUSY, SQLITE_FULL, SQLITE_IOERR: all conditions that pass; keep the readings and retry.
      throw new StoreUnavailableError(`embedded store write failed: ${(err as Error).message}`, { cause: err });
    }
  }

  async queryRaw(q: RangeQuery): Promise<RawPoint[]> {
    const limit = q.limit ? Math.floor(q.limit) : -1;
    const rows = this.#db
      .prepare<[string, string, number, number, number], RawRow>(
        'SELECT time, device_id, fields, tags FROM readings WHERE patient_id = ? AND type = ? AND time >= ? AND time < ? ORDER BY time, tiebreak LIMIT ?',
      )
      .all(q.patientId, q.type, q.from, q.to, limit);
    const known = STORED_TAGS[q.type];
    return rows.map((row) => {
      const tags = JSON.parse(row.tags) as Record<string, string>;
      return {
        time: row.time,
        deviceId: row.device_id,
        fields: JSON.parse(row.fields) as Record<string, number>,
        tags: Object.fromEntries(Object.entries(tags).filter(([k]) => known.includes(k))),
      };
    });
  }

  async queryAggregate(q: RangeQuery & { bucketMs: number }): Promise<AggregatePoint[]> {
    const fields = STORED_FIELDS[q.type];
    const columns = fields
      .map((f, i) => {
        const v = `fields ->> '$.${f}'`;
        return `avg(${v}) AS mean${i}, min(${v}) AS min${i}, max(${v}) AS max${i}, sum(${v}) AS sum${i}, count(${v}) AS count${i}`;
      })
      .join(', ');
    const bucket = Math.floor(q.bucketMs);
    const rows = this.#db
      .prepare(
        `SELECT (time - (((time % @bucket) + @bucket) % @bucket)) AS bucket, ${columns}
         FROM readings WHERE patient_id = @patient AND type = @type AND time >= @from AND time < @to
         GROUP BY bucket ORDER BY bucket`,
      )
      .all({ bucket, patient: q.patientId, type: q.type, from: q.from, to: q.to }) as Record<string, number>[];
    return rows.map((row) => {
      const out: Record<string, FieldAggregate> = {};
      fields.forEach((f, i) => {
        const count = row[`count${i}`] ?? 0;
        if (count === 0) return;
        out[f] = {
          mean: row[`mean${i}`]!,
          min: row[`min${i}`]!,
          max: row[`max${i}`]!,
          sum: row[`sum${i}`]!,
          count,
        };
      });
      return { time: row.bucket!, fields: out };
    });
  }

  /**
   * Deletes up to `limit` of a patient's readings measured before `before` (retention); returns how many went.
   * Goes type by type so that each delete walks the (patient, type, time) index.
   */
  purgeBefore(patientId: string, before: number, limit: number): number {
    const drop = this.#db.prepare(
      `DELETE FROM readings WHERE (type, patient_id, device_id, series_tags, time, tiebreak) IN
         (SELECT type, patient_id, device_id, series_tags, time, tiebreak FROM readings WHERE patient_id = ? AND type = ? AND time < ? LIMIT ?)`,
    );
    let removed = 0;
    for (const type of READING_TYPES) {
      if (removed >= limit) break;
      removed += drop.run(patientId, type, before, limit - removed).changes;
    }
    return removed;
  }

  /** Every reading of a patient (erasure); returns how many went. */
  async erasePatient(patientId: string): Promise<number> {
    return this.#db.prepare('DELETE FROM readings WHERE patient_id = ?').run(patientId).changes;
  }

  async ping(): Promise<void> {
    this.#db.prepare('SELECT 1').get();
  }

  async close(): Promise<void> {
    this.#db.close();
  }
}
