import { promisify } from 'node:util';
import { gzip as gzipCallback } from 'node:zlib';
import { StoreRejectedError, StoreUnavailableError } from './reading-store.js';

const gzip = promisify(gzipCallback);

export interface InfluxConnection {
  readonly url: string;
  readonly database: string;
  readonly retentionPolicy?: string | undefined;
  /** InfluxDB 1.x: create the retention policy with this duration (INF, 8760h, 3653d, 522w), or alter it to it. */
  readonly retentionDuration?: string | undefined;
  readonly username?: string | undefined;
  readonly password?: string | undefined;
  /** InfluxDB 2.x/3.x: an API token, sent as `Authorization: Token ...` to their v1-compatible endpoints. */
  readonly token?: string | undefined;
  readonly timeoutMs?: number | undefined;
}

export interface InfluxSeries {
  readonly name: string;
  readonly tags?: Record<string, string>;
  readonly columns: string[];
  readonly values: unknown[][];
}

/**
 * The InfluxDB v1 HTTP API (/write, /query, /ping), which 1.x serves and 2.x/3.x serve for compatibility.
 * Hand-written on fetch because the outbox contract turns on the exact answer: 2xx advances, a 4xx about the
 * readings (400, 413, 422...) is a dead letter, 401/403/404 (credentials, permission, no database) and everything
 * else (network, timeout, 5xx, 429) keep the readings in the outbox and retry; a client library's own retries
 * would hide it.
 */
export class InfluxHttp {
  readonly #conn: InfluxConnection;
  readonly #base: URL;
  readonly #headers: Record<string, string>;
  readonly #timeoutMs: number;

  constructor(conn: InfluxConnection) {
    this.#conn = conn;
    this.#base = new URL(conn.url.endsWith('/') ? conn.url : `${conn.url}/`);
    this.#timeoutMs = conn.timeoutMs ?? 10_000;
    this.#headers = {};
    if (conn.token) this.#headers.authorization = `Token ${conn.token}`;
    else if (conn.username) {
      this.#headers.authorization = `Basic ${Buffer.from(`${conn.username}:${conn.password ?? ''}`).toString('base64')}`;
    }
  }

  get database(): string {
    return this.#conn.database;
  }

  async #request(path: string, params: Record<string, string>, init: RequestInit): Promise<Response> {
    const url = new URL(path, this.#base);
    for (const [k, v] of Object.entries(params)) url.searchParams.set(k, v);
    let response: Response;
    try {
      response = await fetch(url, {
        ...init,
        headers: { ...this.#headers, ...(init.headers as Record<string, string> | undefined) },
        signal: AbortSignal.timeout(this.#timeoutMs),
      });
    } catch (err) {
      throw new StoreUnavailableError(`InfluxDB unreachable: ${(err as Error).message}`, { cause: err });
    }
    if (response.ok) return response;
    const text = (await response.text().catch(() => '')).slice(0, 500);
    // Not "this reading is refused" but "the store is not ours to write to": never dead-letter on these.
    if (response.status === 401 || response.status === 403) {
      throw new StoreUnavailableError(`InfluxDB refused Vigil's credentials (${response.status}): check VIGIL_INFLUX_TOKEN, or VIGIL_INFLUX_USER and VIGIL_INFLUX_PASSWORD, and their permissions on ${this.#conn.database}: ${text}`, { misconfigured: true });
    }
    if (response.status === 404) {
      throw new StoreUnavailableError(`InfluxDB has no database or bucket ${this.#conn.database} (404; 2.x/3.x need a bucket and, for 2.x, a DBRP mapping): ${text}`, { misconfigured: true });
    }
    if (response.status >= 400 && response.status < 500 && response.status !== 408 && response.status !== 429) {
      throw new StoreRejectedError(response.status, `InfluxDB answered ${response.status}: ${text}`);
    }
    throw new StoreUnavailableError(`InfluxDB answered ${response.status}: ${text}`);
  }

  async write(lines: string): Promise<void> {
    const params: Record<string, string> = { db: this.#conn.database, precision: 'ns' };
    if (this.#conn.retentionPolicy) params.rp = this.#conn.retentionPolicy;
    const body = await gzip(Buffer.from(lines, 'utf8'));
    const response = await this.#request('write', params, {
      method: 'POST',
      body,
      headers: { 'content-type': 'text/plain; charset=utf-8', 'content-encoding': 'gzip' },
    });
    await response.arrayBuffer();
  }

  /** Runs InfluxQL; returns the series of the first statement. */
  async query(q: string, method: 'GET' | 'POST' = 'GET'): Promise<InfluxSeries[]> {
    const [first] = await this.queryMany([q], method);
    return first ?? [];
  }

  /** Runs several InfluxQL statements in one request (one round trip); returns the series of each, in order. */
  async queryMany(statements: readonly string[], method: 'GET' | 'POST' = 'GET'): Promise<InfluxSeries[][]> {
    const params: Record<string, string> = { db: this.#conn.database, q: statements.join('; '), epoch: 'ms' };
    if (this.#conn.retentionPolicy) params.rp = this.#conn.retentionPolicy;
    const response = await this.#request('query', params, { method });
    const body = (await response.json()) as { error?: string; results?: { statement_id?: number; error?: string; series?: InfluxSeries[] }[] };
    const error = body.error ?? body.results?.find((r) => r.error)?.error;
    if (error) throw new StoreRejectedError(400, `InfluxDB query failed: ${error}`);
    return statements.map((_, i) => body.results?.find((r) => (r.statement_id ?? 0) === i)?.series ?? []);
  }

  /**
   * An empty write: 204 when Vigil may write to the database, 401/403/404 when not. /ping answers without
   * credentials, so it cannot tell a store that is up from a store that is up but refuses Vigil.
   */
  async checkWrite(): Promise<void> {
    const params: Record<string, string> = { db: this.#conn.database };
    if (this.#conn.retentionPolicy) params.rp = this.#conn.retentionPolicy;
    const response = await this.#request('write', params, { method: 'POST', body: '' });
    await response.arrayBuffer();
  }

  async ping(): Promise<void> {
    const response = await this.#request('ping', {}, { method: 'GET' });
    await response.arrayBuffer();
  }
}
