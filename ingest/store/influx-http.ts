import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { isIP } from 'node:net';
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
  /**
   * Compress write bodies. Undefined: only when InfluxDB is on another host; on this host gzip costs CPU on both
   * sides (Vigil compressing, InfluxDB decompressing) and saves nothing.
   */
  readonly gzip?: boolean | undefined;
}

export interface InfluxSeries {
  readonly name: string;
  readonly tags?: Record<string, string>;
  readonly columns: string[];
  readonly values: unknown[][];
}

interface Answer {
  readonly status: number;
  readonly body: Buffer;
}

interface RequestSpec {
  readonly method: 'GET' | 'POST';
  readonly body?: Buffer | string;
  readonly headers?: Record<string, string>;
}

function isLoopback(hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, '');
  if (host === 'localhost') return true;
  if (isIP(host) === 4) return host.startsWith('127.');
  return host === '::1';
}

/**
 * The InfluxDB v1 HTTP API (/write, /query, /ping), which 1.x serves and 2.x/3.x serve for compatibility.
 * Hand-written because the outbox contract turns on the exact answer: 2xx advances, a 4xx about the
 * readings (400, 413, 422...) is a dead letter, 401/403/404 (credentials, permission, no database) and everything
 * else (network, timeout, 5xx, 429) keep the readings in the outbox and retry; a client library's own retries
 * would hide it. On node:http with kept-alive connections, not fetch: fetch cost Vigil's main thread about 13 %
 * of its time at 20,000 readings/s (its streams and headers machinery), where the writes need a body out and a
 * status back.
 */
export class InfluxHttp {
  readonly #conn: InfluxConnection;
  readonly #base: URL;
  readonly #headers: Record<string, string>;
  readonly #timeoutMs: number;
  readonly #agent: HttpAgent;
  readonly #gzip: boolean;

  constructor(conn: InfluxConnection) {
    this.#conn = conn;
    this.#base = new URL(conn.url.endsWith('/') ? conn.url : `${conn.url}/`);
    this.#timeoutMs = conn.timeoutMs ?? 10_000;
    // A few kept-alive connections: the shipper writes one batch at a time, the dashboard's queries beside it.
    const agentOptions = { keepAlive: true, maxSockets: 8, maxFreeSockets: 4 };
    this.#agent = this.#base.protocol === 'https:' ? new HttpsAgent(agentOptions) : new HttpAgent(agentOptions);
    this.#gzip = conn.gzip ?? !isLoopback(this.#base.hostname);
    this.#headers = {};
    if (conn.token) this.#headers.authorization = `Token ${conn.token}`;
    else if (conn.username) {
      this.#headers.authorization = `Basic ${Buffer.from(`${conn.username}:${conn.password ?? ''}`).toString('base64')}`;
    }
  }

  get database(): string {
    return this.#conn.database;
  }

  async #request(path: string, params: Record<string, string>, spec: RequestSpec): Promise<Answer> {
    const url = new URL(path, this.#base);
    for (const [k, v] of Object.entries(params)) url.searchParams.set(k, v);
    let answer: Answer;
    try {
      answer = await this.#exchange(url, spec);
    } catch (err) {
      throw new StoreUnavailableError(`InfluxDB unreachable: ${(err as Error).message}`, { cause: err });
    }
    const { status } = answer;
    if (status >= 200 && status < 300) return answer;
    const text = answer.body.toString('utf8', 0, Math.min(answer.body.length, 2000)).slice(0, 500);
    // Not "this reading is refused" but "the store is not ours to write to": never dead-letter on these.
    if (status === 401 || status === 403) {
      throw new StoreUnavailableError(`InfluxDB refused Vigil's credentials (${status}): check VIGIL_INFLUX_TOKEN, or VIGIL_INFLUX_USER and VIGIL_INFLUX_PASSWORD, and their permissions on ${this.#conn.database}: ${text}`, { misconfigured: true });
    }
    if (status === 404) {
      throw new StoreUnavailableError(`InfluxDB has no database or bucket ${this.#conn.database} (404; 2.x/3.x need a bucket and, for 2.x, a DBRP mapping): ${text}`, { misconfigured: true });
    }
    if (status >= 400 && status < 500 && status !== 408 && status !== 429) {
      throw new StoreRejectedError(status, `InfluxDB answered ${status}: ${text}`);
    }
    throw new StoreUnavailableError(`InfluxDB answered ${status}: ${text}`);
  }

  /** One request and its whole answer, or a rejection on a network failure or when the time is up. */
  #exchange(url: URL, spec: RequestSpec): Promise<Answer> {
    const secure = url.protocol === 'https:';
    const headers: Record<string, string | number> = { ...this.#headers, ...spec.headers };
    if (spec.body !== undefined) headers['content-length'] = Buffer.byteLength(spec.body);
    return new Promise<Answer>((resolve, reject) => {
      const options = { method: spec.method, headers, agent: this.#agent, signal: AbortSignal.timeout(this.#timeoutMs) };
      const onResponse = (response: IncomingMessage): void => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, body: chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks) }));
        response.on('error', reject);
        // A connection cut mid-answer (or the time running out then) ends the answer without 'end'.
        response.on('close', () => {
          if (!response.complete) reject(new Error('the answer was cut off'));
        });
      };
      const request = secure ? httpsRequest(url, options, onResponse) : httpRequest(url, options, onResponse);
      request.on('error', (err: Error) => reject(err.name === 'AbortError' ? new Error(`no answer within ${this.#timeoutMs} ms`, { cause: err }) : err));
      request.end(spec.body);
    });
  }

  async write(lines: string): Promise<void> {
    const params: Record<string, string> = { db: this.#conn.database, precision: 'ns' };
    if (this.#conn.retentionPolicy) params.rp = this.#conn.retentionPolicy;
    const text = Buffer.from(lines, 'utf8');
    const headers: Record<string, string> = { 'content-type': 'text/plain; charset=utf-8' };
    if (this.#gzip) headers['content-encoding'] = 'gzip';
    await this.#request('write', params, { method: 'POST', body: this.#gzip ? await gzip(text) : text, headers });
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
    const answer = await this.#request('query', params, { method });
    const body = parseJson(answer.body) as { error?: string; results?: { statement_id?: number; error?: string; series?: InfluxSeries[] }[] };
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
    await this.#request('write', params, { method: 'POST', body: '' });
  }

  async ping(): Promise<void> {
    await this.#request('ping', {}, { method: 'GET' });
  }

  /** Closes the kept-alive connections. */
  close(): void {
    this.#agent.destroy();
  }
}

/** An answer that is not JSON came from something other than InfluxDB: the store is unavailable, not the reading refused. */
function parseJson(body: Buffer): unknown {
  try {
    return JSON.parse(body.toString('utf8'));
  } catch (err) {
    throw new StoreUnavailableError(`InfluxDB answered a query with something other than JSON: ${(err as Error).message}`, { cause: err });
  }
}
