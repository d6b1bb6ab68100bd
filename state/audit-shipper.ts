import { randomUUID } from 'node:crypto';
import type { AuditRow } from './audit-log.js';
import { bookkeeping } from './bookkeeping.js';
import type { StateDb } from './database.js';
import { RetryLater } from './retry-later.js';
import type { SqlClient, SqlValue } from './sql.js';

/** Entries per INSERT: 9 parameters each, far below PostgreSQL's 65,535 per statement. */
const BATCH_SIZE = 500;
/** After an entry is recorded: soon, and one shipment for a burst of entries rather than one each. */
const NUDGE_MS = 200;
/** Entries recorded by another AuditLog on the same database (a CLI command, the replica's erasures). */
const EVERY_MS = 5_000;

const COLUMNS = '(at, actor, origin, action, patient_id, target, details, instance, local_id)';

/**
 * PostgreSQL's text refuses the NUL character, which SQLite stores: one such entry would stop the shipping of every
 * later one, so it is written as the JSON escape `\u0000` instead (visible, never dropped).
 */
function text(value: string | null): string | null {
  return value === null ? null : value.replaceAll('\u0000', '\\u0000');
}

export interface AuditShipperOptions {
  /** A shipment failed (PostgreSQL out of reach, or refusing): it is tried again with backoff, nothing is lost. */
  readonly onError: (err: Error) => void;
  readonly batchSize?: number;
  readonly everyMs?: number;
  readonly nudgeMs?: number;
}

interface Cursor {
  instance: string;
  shipped_id: number;
}

/**
 * Copies this state database's audit log to the shared one in PostgreSQL (docs/architecture.md, "The audit log,
 * shared"), in id order, in batches. Entries are recorded locally, synchronously, inside the transactions whose
 * changes they record; shipping happens after, and `ON CONFLICT (instance, local_id) DO NOTHING` makes shipping a
 * batch twice harmless (a crash after the INSERT and before the cursor's save, or the CLI and the server shipping
 * from one data dir at once). The cursor only moves forward. What fails is tried again with backoff (RetryLater);
 * the entries wait in the local table meanwhile, so an outage loses nothing.
 */
export class AuditShipper {
  readonly #db: StateDb;
  readonly #postgres: SqlClient;
  readonly #options: AuditShipperOptions;
  readonly #batchSize: number;
  readonly #cursor;
  readonly #rows;
  readonly #pending;
  readonly #save;
  readonly #retry = new RetryLater(() => void this.ship());
  readonly #interval: NodeJS.Timeout;
  #nudge: NodeJS.Timeout | undefined;
  #chain: Promise<boolean> = Promise.resolve(true);
  #queued: Promise<boolean> | undefined;
  #failures = 0;

  private constructor(db: StateDb, postgres: SqlClient, options: AuditShipperOptions) {
    this.#db = db;
    this.#postgres = postgres;
    this.#options = options;
    this.#batchSize = options.batchSize ?? BATCH_SIZE;
    this.#cursor = db.prepare<[], Cursor>('SELECT instance, shipped_id FROM audit_shipping WHERE id = 1');
    this.#rows = db.prepare<[number, number], AuditRow>('SELECT * FROM audit_log WHERE id > ? ORDER BY id LIMIT ?');
    this.#pending = db.prepare<[], { n: number }>('SELECT count(*) AS n FROM audit_log WHERE id > (SELECT shipped_id FROM audit_shipping WHERE id = 1)');
    this.#save = db.prepare('UPDATE audit_shipping SET shipped_id = max(shipped_id, ?) WHERE id = 1');
    this.#interval = setInterval(() => this.nudge(0), options.everyMs ?? EVERY_MS);
    this.#interval.unref();
  }

  /**
   * Ready when it resolves (PostgreSQL must answer, as for the rest of the shared state at start-up), then ships
   * what is pending. If the shared log already holds later entries of this instance than the state database ever
   * made, the database was rewound (a backup restored) or copied: its next ids would collide with shipped ones and
   * be dropped as duplicates, so it takes a new instance id, its entries so far being shipped already.
   */
  static async start(db: StateDb, postgres: SqlClient, options: AuditShipperOptions): Promise<AuditShipper> {
    const shipper = new AuditShipper(db, postgres, options);
    try {
      await shipper.#checkRewound();
    } catch (err) {
      shipper.#stop();
      throw err;
    }
    shipper.nudge(0);
    return shipper;
  }

  /** This state database's id in the shared log's `instance` column. */
  get instance(): string {
    return this.#cursor.get()!.instance;
  }

  /** Local entries not yet in the shared log. */
  pending(): number {
    return this.#pending.get()!.n;
  }

  /** Shipments that failed since start. */
  get failures(): number {
    return this.#failures;
  }

  /** Ships soon (a timer): cheap enough to call after every record. Left to the retry's timer during an outage. */
  nudge(delayMs = this.#options.nudgeMs ?? NUDGE_MS): void {
    if (this.#nudge || this.#retry.waiting || this.#retry.closed) return;
    this.#nudge = setTimeout(() => {
      this.#nudge = undefined;
      void this.ship();
    }, delayMs);
    this.#nudge.unref();
  }

  /**
   * Ships every entry recorded before the call; resolves true once they are in the shared log, false if a shipment
   * failed (reported, and tried again later). Calls made while a shipment waits to start share it.
   */
  ship(): Promise<boolean> {
    if (this.#queued) return this.#queued;
    const run = this.#chain.then(() => {
      this.#queued = undefined;
      return this.#shipAll();
    });
    this.#queued = run;
    this.#chain = run;
    return run;
  }

  /** Stops the timers and ships what is left, for at most `timeoutMs`; what is still local ships at the next start. */
  async close(timeoutMs: number): Promise<void> {
    this.#stop();
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)));
    await Promise.race([this.ship(), late]);
    clearTimeout(timer);
  }

  #stop(): void {
    clearInterval(this.#interval);
    clearTimeout(this.#nudge);
    this.#retry.close();
  }

  async #shipAll(): Promise<boolean> {
    try {
      for (;;) {
        const rows = this.#rows.all(this.#cursor.get()!.shipped_id, this.#batchSize);
        if (rows.length === 0) break;
        await this.#insert(rows);
        // Bookkeeping (no fsync): a cursor lost to a power cut only ships the same entries again, to no effect.
        bookkeeping(this.#db, () => this.#save.run(rows.at(-1)!.id));
        if (rows.length < this.#batchSize) break;
      }
      this.#retry.succeeded();
      return true;
    } catch (err) {
      this.#failures++;
      this.#options.onError(err as Error);
      // Outage or refusal alike, the entries stay first in line: the log is never shipped with a gap.
      this.#retry.failed();
      return false;
    }
  }

  async #insert(rows: readonly AuditRow[]): Promise<void> {
    const instance = this.#cursor.get()!.instance;
    const params: SqlValue[] = [];
    for (const r of rows) params.push(r.at, text(r.actor), text(r.origin), text(r.action), text(r.patient_id), text(r.target), text(r.details), instance, r.id);
    const values = rows.map(() => '(?, ?, ?, ?, ?, ?, ?, ?, ?)').join(', ');
    await this.#postgres.query(`INSERT INTO audit_log ${COLUMNS} VALUES ${values} ON CONFLICT (instance, local_id) DO NOTHING`, params);
  }

  async #checkRewound(): Promise<void> {
    const { instance } = this.#cursor.get()!;
    const shared = await this.#postgres.query<{ n: number | null }>('SELECT max(local_id) AS n FROM audit_log WHERE instance = ?', [instance]);
    // AUTOINCREMENT: the highest id this database ever gave, even if retention deleted that row since.
    const made = this.#db.prepare<[], { seq: number }>("SELECT seq FROM sqlite_sequence WHERE name = 'audit_log'").get()?.seq ?? 0;
    const latest = shared.rows[0]?.n ?? 0;
    if (latest <= made) return;
    this.#db.prepare('UPDATE audit_shipping SET instance = ?, shipped_id = ? WHERE id = 1').run(randomUUID(), made);
  }
}
