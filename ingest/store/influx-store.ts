import type { Reading } from '../../domain/index.js';
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
} from './reading-store.js';

function quoteIdent(name: string): string {
  return `"${name.replace(/["\\]/g, (c) => `\\${c}`)}"`;
}

function quoteString(value: string): string {
  return `'${value.replace(/['\\]/g, (c) => `\\${c}`)}'`;
}

function whereClause(q: RangeQuery): string {
  return `WHERE "patient_id" = ${quoteString(q.patientId)} AND time >= ${Math.floor(q.from)}ms AND time < ${Math.floor(q.to)}ms`;
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

  queryDistribution(q: DistributionQuery): Promise<Distribution> {
    return influxDistribution(this.#http, q, whereClause(q), quoteIdent, quoteString);
  }

  /** Reachable, and taking Vigil's writes (credentials, permission and database checked with an empty write). */
  ping(): Promise<void> {
    return this.#http.checkWrite();
  }

  async close(): Promise<void> {
    // fetch keeps no connection state that needs closing.
  }
}
