import { bookkeeping, type PostgresState, type SqlClient, type SqlStatement, type SqlValue, type StateDb } from '../state/index.js';
import type { DeviceRow } from './device.js';
import type { PatientRow } from './patient.js';
import { RetryLater, SerialQueue } from '../state/index.js';

/** What a replica needs from its owner: forget cached devices, erase a patient the shared registry no longer has. */
export interface ReplicaHooks {
  /** A device row changed here: drop what is cached of it. */
  readonly forgetDevice: (deviceId: string) => void;
  /**
   * The patient was erased from the shared registry (on another instance): delete everything this instance holds
   * about them (alerts, care plans, ...), the patient row last, in one transaction. Called after the replica's own
   * transaction.
   */
  readonly erasePatient: (patientId: string) => void;
  /** Rows of the registry changed here (a change another instance made, or this one's own, fetched back); liveness alone does not count. */
  readonly applied: (rows: number) => void;
  /** A change could not be fetched or applied; it is fetched again, with backoff, until it is. */
  readonly onError: (err: Error) => void;
}

/** Where the replica reads and writes the shared registry: its client, and reads that see one snapshot. */
export type SharedSource = Pick<PostgresState, 'client' | 'snapshot'>;

interface EnrolmentRow {
  patientId: string;
  programme: string;
  enrolledAt: number;
}

const PATIENTS = 'SELECT id, name, created_at AS "createdAt", care_team AS "careTeam", time_zone AS "timeZone" FROM patients';
const ENROLMENTS = 'SELECT patient_id AS "patientId", programme, enrolled_at AS "enrolledAt" FROM patient_programmes';
const DEVICES = 'SELECT id, kind, patient_id, secret_hash, created_at, revoked_at, online, battery, firmware, last_seen_at, status_at, assigned_at, warm_up_until, ns_verifier FROM devices';
/** What a device is, as opposed to how it is doing (its liveness): a change here is a change of the registry. */
const DEVICE_IDENTITY = ['patient_id', 'secret_hash', 'revoked_at', 'kind', 'ns_verifier', 'assigned_at'] as const;
const DEVICE_COLUMNS = ['id', 'kind', 'patient_id', 'secret_hash', 'created_at', 'revoked_at', 'online', 'battery', 'firmware', 'last_seen_at', 'status_at', 'assigned_at', 'warm_up_until', 'ns_verifier'] as const;
/** Placeholders per IN list: far below both databases' limits on bound parameters. */
const CHUNK = 500;

/**
 * This instance's copy of the shared registry (PostgreSQL) in its own state database, so that every read stays
 * synchronous and local (the ingest path looks devices up per message) and the tables that refer to patients
 * (care plans, alerts) keep their foreign keys. The shared registry notifies each changed row (its triggers);
 * the replica fetches those rows and writes them here. Work is serialised: a fetch that started later is always
 * applied later, so an older answer never overwrites a newer one. A fetch that fails (a statement timeout, a pooled
 * connection cut while the listening one stays up) is tried again with backoff: no reconnection, and so no resync,
 * may come to bring the change, and a lost revocation would leave the device accepted here.
 *
 * Replica writes are bookkeeping commits (not fsync'd): the copy can always be fetched again.
 */
export class RegistryReplica {
  readonly #db: StateDb;
  readonly #shared: SqlClient;
  readonly #snapshot: SharedSource['snapshot'];
  readonly #hooks: ReplicaHooks;
  readonly #queue = new SerialQueue();
  #pending = new Set<string>();
  #flushing = false;
  readonly #retry = new RetryLater(() => this.#flush());
  /** What #apply writes with, prepared once: every notified change (a device's last-seen time too) comes here. */
  readonly #stmts;

  constructor(db: StateDb, shared: SharedSource, hooks: ReplicaHooks) {
    this.#db = db;
    this.#shared = shared.client;
    this.#snapshot = shared.snapshot;
    this.#hooks = hooks;
    this.#stmts = {
      upsertPatient: db.prepare(
        `INSERT INTO patients (id, name, created_at, care_team, time_zone) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (id) DO UPDATE SET name = excluded.name, created_at = excluded.created_at, care_team = excluded.care_team, time_zone = excluded.time_zone`,
      ),
      clearEnrolments: db.prepare('DELETE FROM patient_programmes WHERE patient_id = ?'),
      enrol: db.prepare('INSERT INTO patient_programmes (patient_id, programme, enrolled_at) VALUES (?, ?, ?)'),
      upsertDevice: db.prepare(
        `INSERT INTO devices (${DEVICE_COLUMNS.join(', ')}) VALUES (${DEVICE_COLUMNS.map(() => '?').join(', ')})
         ON CONFLICT (id) DO UPDATE SET ${DEVICE_COLUMNS.slice(1).map((c) => `${c} = excluded.${c}`).join(', ')}`,
      ),
      removeDevice: db.prepare('DELETE FROM devices WHERE id = ?'),
      identity: db.prepare<[string], Record<(typeof DEVICE_IDENTITY)[number], SqlValue>>(`SELECT ${DEVICE_IDENTITY.join(', ')} FROM devices WHERE id = ?`),
    };
  }

  /** A notification ("p:<id>" or "d:<id>"): fetched with the others that arrive meanwhile. */
  notified(key: string): void {
    this.#pending.add(key);
    this.#flush();
  }

  /**
   * Fetches these rows now (after this instance's own write), after anything already under way. Rejects if the
   * fetch fails; the rows are then fetched again later, as a notified change would be.
   */
  refresh(keys: Iterable<string>): Promise<void> {
    const wanted = new Set(keys);
    return this.#queue.run(() => this.#refreshOrRetry(wanted));
  }

  /** Stops fetching again what failed, and resolves once the work under way is done: before the pool closes. */
  close(): Promise<void> {
    this.#retry.close();
    return this.#queue.idle();
  }

  #flush(): void {
    if (this.#flushing || this.#retry.closed) return;
    this.#flushing = true;
    void this.#queue.run(async () => {
      this.#flushing = false;
      const keys = this.#pending;
      this.#pending = new Set();
      if (keys.size > 0) await this.#refreshOrRetry(keys);
    }).catch((err: Error) => this.#hooks.onError(err));
  }

  async #refreshOrRetry(keys: ReadonlySet<string>): Promise<void> {
    try {
      await this.#refresh(keys);
      this.#retry.succeeded();
    } catch (err) {
      for (const key of keys) this.#pending.add(key);
      this.#retry.failed();
      throw err;
    }
  }

  /**
   * Mirrors the whole shared registry: at start and after every reconnection (notifications sent meanwhile are
   * lost). A database that does not yet mirror this shared registry (first start with VIGIL_DATABASE_URL, or
   * pointed at another one) is adopted: its patients and devices are added to the shared registry where their
   * ids are free (existing rows win), so that moving to shared state loses nothing, and workers that were each
   * provisioned with the same ids merge. From then on, what the shared registry does not have is erased here.
   */
  syncAll(): Promise<void> {
    return this.#queue.run(async () => {
      const registryId = (await this.#shared.query<{ id: string }>('SELECT id FROM registry_identity')).rows[0]?.id;
      if (registryId === undefined) throw new Error('the shared registry has no registry_identity row');
      const mirrored = this.#db.prepare<[], { registry_id: string }>('SELECT registry_id FROM registry_replica').get()?.registry_id;
      if (mirrored !== registryId) await this.#adopt();
      // One snapshot: read one after the other, a device could name a patient committed after the patients were read.
      const { patients, enrolments, devices } = await this.#snapshot(async (query) => ({
        patients: (await query<PatientRow>(`${PATIENTS} ORDER BY created_at, id`)).rows,
        enrolments: (await query<EnrolmentRow>(`${ENROLMENTS} ORDER BY seq`)).rows,
        devices: (await query<DeviceRow>(`${DEVICES} ORDER BY created_at, id`)).rows,
      }));
      const present = new Set(patients.map((p) => p.id));
      const gone = this.#db.prepare<[], { id: string }>('SELECT id FROM patients').all().map((r) => r.id).filter((id) => !present.has(id));
      const shared = new Set(devices.map((d) => d.id));
      const removedDevices = this.#db.prepare<[], { id: string }>('SELECT id FROM devices').all().map((r) => r.id).filter((id) => !shared.has(id));
      this.#apply({ patients, enrolments, devices, removedDevices }, () => {
        this.#db.prepare('DELETE FROM registry_replica').run();
        this.#db.prepare('INSERT INTO registry_replica (registry_id, synced_at) VALUES (?, ?)').run(registryId, Date.now());
      });
      for (const id of gone) this.#hooks.erasePatient(id);
    });
  }

  /** Whether this database mirrors a shared registry: then a registry opened without it must not write here. */
  static isReplica(db: StateDb): boolean {
    return db.prepare('SELECT 1 FROM registry_replica').get() !== undefined;
  }

  /**
   * Makes this database's registry its own again, as it is now (`vigil registry detach`): it stops being taken for
   * a copy of the shared registry. Returns whether it was one.
   */
  static detach(db: StateDb): boolean {
    return db.prepare('DELETE FROM registry_replica').run().changes > 0;
  }


  async #refresh(keys: ReadonlySet<string>): Promise<void> {
    const patientIds = [...keys].filter((k) => k.startsWith('p:')).map((k) => k.slice(2));
    const deviceIds = [...keys].filter((k) => k.startsWith('d:')).map((k) => k.slice(2));
    const known = this.#db.prepare<[string], { id: string }>('SELECT id FROM patients WHERE id = ?');
    // One snapshot, so that a patient a fetched device names cannot be erased between the two reads (foreign key).
    const { patients, enrolments, devices } = await this.#snapshot(async (query) => {
      const devices = await fetchIn<DeviceRow>(query, DEVICES, 'id', deviceIds);
      // A device may name a patient this replica has not fetched yet: fetch it too (foreign key).
      for (const d of devices) if (d.patient_id !== null && !patientIds.includes(d.patient_id) && !known.get(d.patient_id)) patientIds.push(d.patient_id);
      const patients = await fetchIn<PatientRow>(query, PATIENTS, 'id', patientIds);
      const enrolments = await fetchIn<EnrolmentRow>(query, ENROLMENTS, 'patient_id', patientIds, ' ORDER BY seq');
      return { patients, enrolments, devices };
    });
    const present = new Set(patients.map((p) => p.id));
    const gone = patientIds.filter((id) => !present.has(id) && known.get(id));
    const fetched = new Set(devices.map((d) => d.id));
    this.#apply({ patients, enrolments, devices, removedDevices: deviceIds.filter((id) => !fetched.has(id)) });
    for (const id of gone) this.#hooks.erasePatient(id);
  }

  /**
   * Writes fetched rows here in one transaction: patients, then their enrolments in order, then devices; and
   * deletes the devices the shared registry no longer has (deleted there by hand, or a database restored from
   * an older dump), which would otherwise still be let in by this instance alone.
   */
  #apply(rows: { patients: readonly PatientRow[]; enrolments: readonly EnrolmentRow[]; devices: readonly DeviceRow[]; removedDevices: readonly string[] }, also?: () => void): void {
    const { patients, enrolments, devices, removedDevices } = rows;
    const { upsertPatient, clearEnrolments, enrol, upsertDevice, removeDevice, identity } = this.#stmts;
    let changed = patients.length + removedDevices.length;
    bookkeeping(this.#db, () => {
      for (const p of patients) {
        upsertPatient.run(p.id, p.name, p.createdAt, p.careTeam, p.timeZone);
        clearEnrolments.run(p.id);
      }
      for (const e of enrolments) enrol.run(e.patientId, e.programme, e.enrolledAt);
      for (const d of devices) {
        const before = identity.get(d.id);
        if (!before || DEVICE_IDENTITY.some((c) => before[c] !== d[c])) changed++;
        upsertDevice.run(...DEVICE_COLUMNS.map((c) => d[c]));
      }
      for (const id of removedDevices) removeDevice.run(id);
      also?.();
    });
    for (const d of devices) this.#hooks.forgetDevice(d.id);
    for (const id of removedDevices) this.#hooks.forgetDevice(id);
    // A device's liveness (every status and last-seen batch notifies) is not a change of the registry: counting it
    // would make the syncing worker reconcile the broker's logins every few seconds.
    if (changed > 0) this.#hooks.applied(changed);
  }

  /** Adds this database's patients, enrolments and devices to the shared registry where their ids are free. */
  async #adopt(): Promise<void> {
    const statements: SqlStatement[] = [];
    for (const p of this.#db.prepare<[], PatientRow>(`${PATIENTS} ORDER BY created_at, id`).all()) {
      statements.push({ sql: 'INSERT INTO patients (id, name, created_at, care_team, time_zone) VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING', params: [p.id, p.name, p.createdAt, p.careTeam, p.timeZone] });
    }
    for (const e of this.#db.prepare<[], EnrolmentRow>(`${ENROLMENTS} ORDER BY rowid`).all()) {
      statements.push({ sql: 'INSERT INTO patient_programmes (patient_id, programme, enrolled_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING', params: [e.patientId, e.programme, e.enrolledAt] });
    }
    for (const d of this.#db.prepare<[], DeviceRow>(`${DEVICES} ORDER BY created_at, id`).all()) {
      statements.push({
        sql: `INSERT INTO devices (${DEVICE_COLUMNS.join(', ')}) VALUES (${DEVICE_COLUMNS.map(() => '?').join(', ')}) ON CONFLICT DO NOTHING`,
        params: DEVICE_COLUMNS.map((c) => d[c]),
      });
    }
    if (statements.length > 0) await this.#shared.transaction(statements);
  }
}

/** The rows whose `column` is one of `ids`, in chunks of CHUNK placeholders. */
async function fetchIn<Row>(query: SqlClient['query'], select: string, column: string, ids: readonly string[], order = ''): Promise<Row[]> {
  const rows: Row[] = [];
  for (let i = 0; i < ids.length; i += CHUNK) {
    const chunk = ids.slice(i, i + CHUNK);
    rows.push(...(await query<Row>(`${select} WHERE ${column} IN (${chunk.map(() => '?').join(', ')})${order}`, chunk)).rows);
  }
  return rows;
}
