import type Database from 'better-sqlite3';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { READING_TYPES, VigilError, type Reading } from '../../domain/index.js';
import { sqliteDistribution } from './sqlite-distribution.js';
import { openReadingsDb, READINGS_DB_FILE, storedRow } from './sqlite-layout.js';
import type { WriterAnswer, WriterRequest } from './sqlite-writer.js';
import {
  STORED_FIELDS,
  STORED_TAGS,
  StoreUnavailableError,
  type AggregatePoint,
  type Distribution,
  type DistributionQuery,
  type FieldAggregate,
  type RangeQuery,
  type RawPoint,
  type ReadingStore,
  type SpansQuery,
  MAX_SPANS,
} from './reading-store.js';

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
  readonly #file: string;
  /** Reads only: writes go through the writer thread (WAL lets both work at once). */
  readonly #db: Database.Database;
  #writer: Worker | undefined;
  #nextId = 0;
  readonly #pending = new Map<number, { resolve: (changes: number) => void; reject: (err: Error) => void }>();

  constructor(dataDir: string) {
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    this.#file = join(dataDir, READINGS_DB_FILE);
    this.#db = openReadingsDb(this.#file);
  }

  async write(readings: readonly Reading[]): Promise<void> {
    try {
      await this.#send({ id: 0, rows: readings.map(storedRow) });
    } catch (err) {
      // SQLITE_BUSY, SQLITE_FULL, SQLITE_IOERR, a writer thread that died: all conditions that pass; the shipper
      // keeps the readings and retries.
      throw new StoreUnavailableError(`embedded store write failed: ${(err as Error).message}`, { cause: err });
    }
  }

  /** Answers the rows a delete removed (0 for other requests). */
  #send(request: WriterRequest): Promise<number> {
    const writer = this.#startWriter();
    const id = ++this.#nextId;
    // The thread keeps the process alive only while a write waits for it.
    if (this.#pending.size === 0) writer.ref();
    return new Promise<number>((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      writer.postMessage({ ...request, id });
    });
  }

  /** The writer thread, started at the first write (commands that only read never start one). */
  #startWriter(): Worker {
    if (this.#writer) return this.#writer;
    const writer = new Worker(writerScript(), { workerData: { file: this.#file } });
    writer.on('message', (answer: WriterAnswer) => {
      const waiting = this.#pending.get(answer.id);
      this.#pending.delete(answer.id);
      if (this.#pending.size === 0) writer.unref();
      if (answer.error === undefined) waiting?.resolve(answer.changes ?? 0);
      else waiting?.reject(new Error(answer.error));
    });
    const fail = (err: Error) => {
      if (this.#writer === writer) this.#writer = undefined;
      for (const waiting of this.#pending.values()) waiting.reject(err);
      this.#pending.clear();
    };
    writer.on('error', fail);
    writer.on('exit', (code) => fail(new Error(`the embedded store's writer thread exited (code ${code})`)));
    this.#writer = writer;
    return writer;
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

  /** Deletes up to `limit` of a patient's readings measured before `before` (retention); answers how many went. */
  purgeBefore(patientId: string, before: number, limit: number): Promise<number> {
    return this.#send({ id: 0, purge: { patientId, before, limit } });
  }

  /**
   * Every patient the store holds readings of, whether or not the registry still has them (retention purges an
   * orphan's readings by the same horizon). A walk from one id to the next along the table's key, which leads with
   * the patient: one seek per patient rather than a scan of every reading (a year of CGM is 105,000 rows each).
   */
  patientIds(): string[] {
    return this.#db
      .prepare<[], { id: string }>(
        `WITH RECURSIVE ids(id) AS (
           SELECT (SELECT min(patient_id) FROM readings)
           UNION ALL
           SELECT (SELECT min(patient_id) FROM readings WHERE patient_id > ids.id) FROM ids WHERE ids.id IS NOT NULL
         ) SELECT id FROM ids WHERE id IS NOT NULL`,
      )
      .all()
      .map((r) => r.id);
  }

  /** Every reading of a patient (erasure); answers how many went. */
  erasePatient(patientId: string): Promise<number> {
    return this.#send({ id: 0, erase: patientId });
  }

  async queryDistribution(q: DistributionQuery): Promise<Distribution> {
    return sqliteDistribution(this.#db, q);
  }

  async querySpansWithReadings(q: SpansQuery): Promise<boolean[]> {
    if (q.spans.length > MAX_SPANS) throw new RangeError(`at most ${MAX_SPANS} spans in one query`);
    // `type IN (...)` keeps each probe on the (patient, type, time) key: one seek per type, no scan.
    this.#spanProbe ??= this.#db
      .prepare<[string, number, number], { found: number }>(
        `SELECT EXISTS (SELECT 1 FROM readings WHERE patient_id = ? AND type IN (${READING_TYPES.map((t) => `'${t}'`).join(', ')}) AND time >= ? AND time < ?) AS found`,
      );
    const probe = this.#spanProbe;
    return q.spans.map((s) => probe.get(q.patientId, s.from, s.to)!.found === 1);
  }

  /** Kept, not re-prepared per call (better-sqlite3 12.x with Node 24 aborts when a collected statement is freed). */
  #spanProbe: Database.Statement<[string, number, number], { found: number }> | undefined;

  async ping(): Promise<void> {
    this.#db.prepare('SELECT 1').get();
  }

  async close(): Promise<void> {
    const writer = this.#writer;
    if (writer) {
      await this.#send({ id: 0, close: true }).catch(() => undefined);
      await writer.terminate();
    }
    this.#db.close();
  }
}

/**
 * The compiled writer module beside this one (dist/), or, when this module runs from its TypeScript source (the
 * test runner), the compiled one in dist/: a worker thread needs JavaScript it can load itself.
 */
function writerScript(): URL {
  const beside = new URL('./sqlite-writer.js', import.meta.url);
  if (existsSync(fileURLToPath(beside))) return beside;
  const built = new URL('../../dist/ingest/store/sqlite-writer.js', import.meta.url);
  if (existsSync(fileURLToPath(built))) return built;
  throw new VigilError('VIGIL_ERR_CONFIG', `the embedded store's writer thread needs ${fileURLToPath(built)}: run \`npm run build\``);
}
