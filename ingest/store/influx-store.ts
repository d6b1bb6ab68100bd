import { READING_TYPES, type Reading } from '../../domain/index.js';
import { influxDistribution } from './influx-distribution.js';
import { InfluxHttp, type InfluxConnection, type InfluxSeries } from './influx-http.js';
import { toLine } from './line-protocol.js';
import {
  STORED_FIELDS,
  STORED_TAGS,
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

function quoteIdent(name: string): string {
  return `"${name.replace(/["\\]/g, (c) => `\\${c}`)}"`;
}

function quoteString(value: string): string {
  return `'${value.replace(/['\\]/g, (c) => `\\${c}`)}'`;
}

function whereClause(q: Pick<RangeQuery, 'patientId' | 'from' | 'to'>): string {
  return `WHERE "patient_id" = ${quoteString(q.patientId)} AND time >= ${Math.floor(q.from)}ms AND time < ${Math.floor(q.to)}ms`;
}

/**
 * Creates the retention policy Vigil writes to, or alters its duration to the configured one (CREATE answers an
 * error when a policy of that name exists with other settings). InfluxDB then drops shards older than the
 * duration by itself. A server that refuses (2.x/3.x manage retention on the bucket) is logged, not fatal.
 */
async function applyRetentionPolicy(http: InfluxHttp, database: string, policy: string, duration: string, log?: (message: string) => void): Promise<void> {
  const on = `${quoteIdent(policy)} ON ${quoteIdent(database)} DURATION ${duration}`;
  try {
    await http.query(`CREATE RETENTION POLICY ${on} REPLICATION 1`, 'POST');
  } catch {
    try {
      await http.query(`ALTER RETENTION POLICY ${on}`, 'POST');
    } catch (err) {
      log?.(`could not create or alter InfluxDB retention policy ${policy} (on 2.x/3.x set the bucket's retention instead): ${(err as Error).message}`);
    }
  }
}

const AGGREGATES = ['mean', 'min', 'max', 'sum', 'count'] as const;

function rowsOf(series: InfluxSeries[]): Record<string, unknown>[] {
  return series.flatMap((s) => s.values.map((v) => Object.fromEntries(s.columns.map((c, i) => [c, v[i]]))));
}

/** Readings in InfluxDB: one measurement per type, tags patient_id/device_id (+ source/meal for glucose). */
export class InfluxStore implements ReadingStore {
  readonly kind = 'influxdb';
  readonly #http: InfluxHttp;

  private constructor(http: InfluxHttp) {
    this.#http = http;
  }

  /** Connects and creates the database where the server allows it (1.x); 2.x/3.x map it to a bucket. */
  static async open(conn: InfluxConnection, log?: (message: string) => void): Promise<InfluxStore> {
    const http = new InfluxHttp(conn);
    try {
      await http.query(`CREATE DATABASE ${quoteIdent(conn.database)}`, 'POST');
    } catch (err) {
      log?.(`could not create InfluxDB database (it may already exist or be a 2.x/3.x bucket): ${(err as Error).message}`);
    }
    if (conn.retentionPolicy && conn.retentionDuration) await applyRetentionPolicy(http, conn.database, conn.retentionPolicy, conn.retentionDuration, log);
    return new InfluxStore(http);
  }

  async write(readings: readonly Reading[]): Promise<void> {
    if (readings.length === 0) return;
    await this.#http.write(readings.map(toLine).join('\n'));
  }

  async queryRaw(q: RangeQuery): Promise<RawPoint[]> {
    const fields = STORED_FIELDS[q.type];
    const tags = ['device_id', ...STORED_TAGS[q.type]];
    const select = [...fields, ...tags].map(quoteIdent).join(', ');
    const limit = q.limit ? ` LIMIT ${Math.floor(q.limit)}` : '';
    const series = await this.#http.query(`SELECT ${select} FROM ${quoteIdent(q.type)} ${whereClause(q)} ORDER BY time ASC${limit}`);
    return rowsOf(series).map((row) => {
      const pointFields: Record<string, number> = {};
      for (const f of fields) if (typeof row[f] === 'number') pointFields[f] = row[f];
      const pointTags: Record<string, string> = {};
      for (const t of STORED_TAGS[q.type]) if (typeof row[t] === 'string' && row[t] !== '') pointTags[t] = row[t];
      return { time: row.time as number, deviceId: String(row.device_id ?? ''), fields: pointFields, tags: pointTags };
    });
  }

  async queryAggregate(q: RangeQuery & { bucketMs: number }): Promise<AggregatePoint[]> {
    const fields = STORED_FIELDS[q.type];
    const select = fields
      .flatMap((f) => AGGREGATES.map((a) => `${a}(${quoteIdent(f)}) AS ${quoteIdent(`${f}__${a}`)}`))
      .join(', ');
    const series = await this.#http.query(
      `SELECT ${select} FROM ${quoteIdent(q.type)} ${whereClause(q)} GROUP BY time(${Math.floor(q.bucketMs)}ms) fill(none)`,
    );
    return rowsOf(series).map((row) => {
      const out: Record<string, FieldAggregate> = {};
      for (const f of fields) {
        const count = row[`${f}__count`];
        if (typeof count !== 'number' || count === 0) continue;
        out[f] = {
          mean: row[`${f}__mean`] as number,
          min: row[`${f}__min`] as number,
          max: row[`${f}__max`] as number,
          sum: row[`${f}__sum`] as number,
          count,
        };
      }
      return { time: row.time as number, fields: out };
    });
  }

  /**
   * Drops every series tagged with the patient's id, in every measurement and retention policy of the
   * database: InfluxQL's DROP SERIES removes the points and the index entries, so the id no longer shows in
   * SHOW TAG VALUES either. Returns undefined: the server does not say how many points went.
   */
  async erasePatient(patientId: string): Promise<undefined> {
    await this.#http.query(`DROP SERIES WHERE "patient_id" = ${quoteString(patientId)}`, 'POST');
    return undefined;
  }

  queryDistribution(q: DistributionQuery): Promise<Distribution> {
    return influxDistribution(this.#http, q, whereClause(q), quoteIdent, quoteString);
  }

  /** One COUNT statement per span over every reading measurement, all in one request. */
  async querySpansWithReadings(q: SpansQuery): Promise<boolean[]> {
    if (q.spans.length > MAX_SPANS) throw new RangeError(`at most ${MAX_SPANS} spans in one query`);
    if (q.spans.length === 0) return [];
    const from = READING_TYPES.map(quoteIdent).join(', ');
    const answers = await this.#http.queryMany(q.spans.map((s) => `SELECT COUNT(*) FROM ${from} ${whereClause({ patientId: q.patientId, from: s.from, to: s.to })}`));
    return answers.map((series) => rowsOf(series).some((row) => Object.entries(row).some(([k, v]) => k !== 'time' && typeof v === 'number' && v > 0)));
  }

  /** Reachable, and taking Vigil's writes (credentials, permission and database checked with an empty write). */
  ping(): Promise<void> {
    return this.#http.checkWrite();
  }

  async close(): Promise<void> {
    this.#http.close();
  }
}
