import { checkTimeZone, VigilError, type DeviceStatus } from '../domain/index.js';
import { bookkeeping, changedElsewhere, isUniqueViolation, sqliteClient, type SqlClient, type SqlStatement, type SqlValue, type StateDb } from '../state/index.js';
import { checkCareTeam, checkId, checkProgrammes, newId } from './checks.js';
import { toDevice, type Device, type DeviceAuthResult, type DeviceKind, type DeviceRow, type DeviceStatusChange, type NightscoutAuthResult } from './device.js';
import { enrolStatements, Enrolments } from './enrolments.js';
import { PATIENT_COLUMNS, toPatient, type Patient, type PatientRow } from './patient.js';
import { LivenessMirror } from './liveness-mirror.js';
import { RegistryReplica, type ReplicaHooks, type SharedSource } from './replica.js';
import { generateSecret, hashDeviceSecret, nightscoutVerifier, presentedNightscoutVerifier, verifyNightscoutSecret, verifySecret, VerifiedSecretCache } from './secrets.js';

export { CARE_TEAM } from './checks.js';
export { DEVICE_KINDS } from './device.js';
export type { Device, DeviceAuthResult, DeviceKind, DeviceStatusChange, NightscoutAuthResult } from './device.js';
export type { Patient } from './patient.js';

export interface RegistryOptions {
  /** The zone of a new patient when none is given (VIGIL_DEFAULT_TIME_ZONE); UTC when unset. */
  readonly defaultTimeZone?: string | undefined;
}

/**
 * Patients, devices and their assignment. Reads are synchronous, from the state database. Changes are made where
 * the registry lives: the state database itself (embedded), or the shared registry in PostgreSQL
 * (VIGIL_DATABASE_URL, after `share`), whose rows the state database then mirrors (registry/replica.ts); so
 * changes are async. The server and the CLI each open their own Registry on the same file: a revocation or
 * reassignment made by the CLI, or by another instance, takes effect at the device's next message.
 */
export class Registry {
  readonly #db: StateDb;
  readonly #verified = new VerifiedSecretCache();
  readonly #enrolments: Enrolments;
  readonly #defaultTimeZone: string;
  readonly #stmts;
  /**
   * Devices as last read, for the per-message lookups on the ingest path. Emptied when this process changes a
   * device, and when another process (the CLI) commits to the database: SQLite's data_version, checked at most
   * every 200 ms, tells. A revocation therefore applies within a fraction of a second.
   */
  readonly #devices = new Map<string, Device>();
  readonly #changedElsewhere: () => boolean;
  /** Where changes are made: the state database, or the shared registry once shared. */
  #source: SqlClient;
  #replica: RegistryReplica | undefined;
  /** Liveness written to the shared registry after the state database, in order (bookkeeping, never awaited). */
  #mirror: LivenessMirror | undefined;
  /** Rows the replica has written: its writes are this connection's, which SQLite's data_version does not count. */
  #replicated = 0;

  constructor(db: StateDb, options: RegistryOptions = {}) {
    this.#db = db;
    this.#source = sqliteClient(db);
    this.#changedElsewhere = changedElsewhere(db, 200);
    this.#enrolments = new Enrolments(db);
    this.#defaultTimeZone = checkTimeZone(options.defaultTimeZone ?? 'UTC');
    this.#stmts = {
      patient: db.prepare<[string], PatientRow>(`SELECT ${PATIENT_COLUMNS} FROM patients WHERE id = ?`),
      patients: db.prepare<[], PatientRow>(`SELECT ${PATIENT_COLUMNS} FROM patients ORDER BY created_at, id`),
      device: db.prepare<[string], DeviceRow>('SELECT * FROM devices WHERE id = ?'),
      devices: db.prepare<[], DeviceRow>('SELECT * FROM devices ORDER BY created_at, id'),
      status: db.prepare(LIVENESS.status),
      online: db.prepare(LIVENESS.online),
      seen: db.prepare(LIVENESS.seen),
      offline: db.prepare(LIVENESS.offline),
      revokedIds: db.prepare<[], { id: string }>('SELECT id FROM devices WHERE revoked_at IS NOT NULL'),
      byNightscoutVerifier: db.prepare<[string], { id: string }>('SELECT id FROM devices WHERE ns_verifier = ?'),
    };
  }

  /**
   * Makes the shared registry (PostgreSQL, with REGISTRY_MIGRATIONS applied) the place where this registry makes
   * its changes, and returns the replica that mirrors it here: the caller feeds it the shared registry's
   * notifications and calls `syncAll` when it starts listening (registry/shared.ts). Called once, before use.
   */
  share(shared: SharedSource, hooks: Pick<ReplicaHooks, 'erasePatient' | 'onError'>): RegistryReplica {
    this.#source = shared.client;
    this.#mirror = new LivenessMirror(shared.client, hooks.onError);
    this.#replica = new RegistryReplica(this.#db, shared, {
      ...hooks,
      forgetDevice: (id) => this.#devices.delete(id),
      applied: (rows) => (this.#replicated += rows),
    });
    return this.#replica;
  }

  /** Resolves once the liveness written so far has reached the shared registry (or failed, to be written again). */
  async settled(): Promise<void> {
    await this.#mirror?.settled();
  }

  /** Stops mirroring liveness, once the write under way is done: before the shared registry closes. */
  async unshare(): Promise<void> {
    await this.#mirror?.close();
  }

  /** Rows the replica has applied from the shared registry so far: it moves with every change another instance made. */
  get replicatedRows(): number {
    return this.#replicated;
  }

  /**
   * Whether the replica brought changes from the shared registry since the last call (the first call answers
   * true): what another instance changed, for those that act on changes (the broker's logins, gateway/dynsec).
   */
  changedInShared(): () => boolean {
    let seen = -1;
    return () => {
      const now = this.#replicated;
      if (now === seen) return false;
      seen = now;
      return true;
    };
  }

  async addPatient(input: {
    name: string;
    id?: string | undefined;
    programmes?: readonly string[] | undefined;
    careTeam?: string | null | undefined;
    /** IANA zone; the registry's default (VIGIL_DEFAULT_TIME_ZONE) when not given. */
    timeZone?: string | undefined;
  }): Promise<Patient> {
    const name = input.name.trim();
    if (!name) throw new VigilError('VIGIL_ERR_CONFIG', 'a patient needs a name');
    const id = input.id ? checkId(input.id, 'patient') : newId('p');
    const programmes = checkProgrammes(input.programmes ?? []);
    const careTeam = checkCareTeam(input.careTeam);
    const timeZone = input.timeZone === undefined ? this.#defaultTimeZone : checkTimeZone(input.timeZone);
    const createdAt = Date.now();
    try {
      await this.#change([
        { sql: 'INSERT INTO patients (id, name, created_at, care_team, time_zone) VALUES (?, ?, ?, ?, ?)', params: [id, name, createdAt, careTeam, timeZone] },
        ...enrolStatements(id, programmes, createdAt),
      ]);
    } catch (err) {
      if (isUniqueViolation(err)) throw new VigilError('VIGIL_ERR_CONFLICT', `patient ${id} already exists`);
      throw err;
    }
    return this.#patientChanged(id);
  }

  getPatient(id: string): Patient | undefined {
    const row = this.#stmts.patient.get(id);
    return row ? toPatient(row, this.#enrolments.of(id)) : undefined;
  }

  listPatients(): Patient[] {
    const enrolments = this.#enrolments.all();
    return this.#stmts.patients.all().map((row) => toPatient(row, enrolments.get(row.id)));
  }

  /**
   * Enrols a patient in exactly these programmes; their rules apply from the next reading. A programme the
   * patient stays in keeps its enrolment time; a new one (or one rejoined) is enrolled now.
   */
  async setProgrammes(id: string, programmes: readonly string[]): Promise<Patient> {
    const checked = checkProgrammes(programmes);
    await this.#requirePatient(id);
    await this.#change(enrolStatements(id, checked, Date.now()));
    return this.#patientChanged(id);
  }

  /** Moves a patient to a care team (or none: then only administrators see the patient). */
  async setCareTeam(id: string, team: string | null): Promise<Patient> {
    await this.#changeOne('UPDATE patients SET care_team = ? WHERE id = ?', [checkCareTeam(team), id], `patient ${id}`);
    return this.#patientChanged(id);
  }

  /** Sets the patient's IANA time zone (they moved, or it was never set); rules use it from their next evaluation. */
  async setTimeZone(id: string, timeZone: string): Promise<Patient> {
    await this.#changeOne('UPDATE patients SET time_zone = ? WHERE id = ?', [checkTimeZone(timeZone), id], `patient ${id}`);
    return this.#patientChanged(id);
  }

  /**
   * The erasure of a patient (lifecycle/patient): from the shared registry, so that every instance's replica
   * erases them too; its devices are unassigned (they are hardware). Nothing to do on an embedded registry, whose
   * rows the erasure deletes with the rest of the state database's. Refused on a replica opened without the
   * shared registry: the patient would stay in PostgreSQL, on every other instance, and come back here at the
   * next resync.
   */
  async erasePatientShared(id: string): Promise<void> {
    if (!this.#replica) {
      this.#refuseUnsharedReplica();
      return;
    }
    await this.#source.transaction([
      { sql: 'UPDATE devices SET patient_id = NULL, assigned_at = NULL WHERE patient_id = ?', params: [id] },
      { sql: 'DELETE FROM patient_programmes WHERE patient_id = ?', params: [id] },
      { sql: 'DELETE FROM patients WHERE id = ?', params: [id] },
    ]);
  }

  async #requirePatient(id: string): Promise<void> {
    this.#refuseUnsharedReplica();
    const found = await this.#source.query('SELECT 1 FROM patients WHERE id = ?', [id]);
    if (found.rows.length === 0) throw new VigilError('VIGIL_ERR_NOT_FOUND', `patient ${id} does not exist`);
  }

  /** Provisions a device for a patient; returns its secret, which is never shown again. */
  async addDevice(input: { patientId: string; id?: string | undefined; kind?: DeviceKind | undefined }): Promise<{ device: Device; secret: string }> {
    await this.#requirePatient(input.patientId);
    const id = input.id ? checkId(input.id, 'device') : newId('d');
    const secret = generateSecret();
    const now = Date.now();
    try {
      await this.#change([
        {
          sql: 'INSERT INTO devices (id, patient_id, secret_hash, created_at, assigned_at, ns_verifier, kind) VALUES (?, ?, ?, ?, ?, ?, ?)',
          params: [id, input.patientId, hashDeviceSecret(secret), now, now, nightscoutVerifier(secret), input.kind ?? 'device'],
        },
      ]);
    } catch (err) {
      if (isUniqueViolation(err)) throw new VigilError('VIGIL_ERR_CONFLICT', `device ${id} already exists`);
      throw err;
    }
    return { device: await this.#deviceChanged(id), secret };
  }

  /** Issues a new secret (and lifts a revocation): the old secret stops working at once. */
  async rotateSecret(id: string): Promise<string> {
    const secret = generateSecret();
    await this.#changeOne('UPDATE devices SET secret_hash = ?, ns_verifier = ?, revoked_at = NULL WHERE id = ?', [hashDeviceSecret(secret), nightscoutVerifier(secret), id], `device ${id}`);
    await this.#deviceChanged(id);
    return secret;
  }

  /**
   * Assigns a device to a patient (a device handed to someone else, or returned to stock with null). Readings
   * are attributed by the assignment at arrival, so the new patient gets the next one. Assigning a device to the
   * patient it already serves changes nothing, so its assignment time stays.
   */
  async assignDevice(id: string, patientId: string | null): Promise<Device> {
    if (patientId !== null) await this.#requirePatient(patientId);
    // One statement: the assignment time moves only when the patient changes (also from or to none).
    await this.#changeOne(
      'UPDATE devices SET assigned_at = CASE WHEN patient_id IS DISTINCT FROM ? THEN ? ELSE assigned_at END, patient_id = ? WHERE id = ?',
      [patientId, patientId === null ? null : Date.now(), patientId, id],
      `device ${id}`,
    );
    return this.#deviceChanged(id);
  }

  getDevice(id: string): Device | undefined {
    this.#forgetIfChangedElsewhere();
    const cached = this.#devices.get(id);
    if (cached) return cached;
    const row = this.#stmts.device.get(id);
    if (!row) return undefined;
    const device = toDevice(row);
    if (this.#devices.size > 200_000) this.#devices.clear();
    this.#devices.set(id, device);
    return device;
  }

  #forgetIfChangedElsewhere(): void {
    if (this.#changedElsewhere()) this.#devices.clear();
  }

  listDevices(): Device[] {
    return this.#stmts.devices.all().map(toDevice);
  }

  async revokeDevice(id: string): Promise<Device> {
    // A device already revoked keeps its revocation time.
    await this.#changeOne('UPDATE devices SET revoked_at = COALESCE(revoked_at, ?), online = 0 WHERE id = ?', [Date.now(), id], `device ${id}`);
    return this.#deviceChanged(id);
  }

  /** Runs a change where the registry lives (all or nothing). */
  async #change(statements: readonly SqlStatement[]): Promise<void> {
    this.#refuseUnsharedReplica();
    await this.#source.transaction(statements);
  }

  /** One UPDATE of one row, refused with VIGIL_ERR_NOT_FOUND when there is no such row. */
  async #changeOne(sql: string, params: readonly (string | number | null)[], what: string): Promise<void> {
    this.#refuseUnsharedReplica();
    if ((await this.#source.query(sql, params)).changes === 0) throw new VigilError('VIGIL_ERR_NOT_FOUND', `${what} does not exist`);
  }

  /** The patient as this instance now sees it, once the replica (when shared) has fetched the change. */
  async #patientChanged(id: string): Promise<Patient> {
    await this.#replica?.refresh([`p:${id}`]);
    return this.getPatient(id)!;
  }

  async #deviceChanged(id: string): Promise<Device> {
    await this.#replica?.refresh([`d:${id}`]);
    this.#devices.delete(id);
    return this.getDevice(id)!;
  }

  /**
   * A state database that mirrors a shared registry changes only through it: a change made here alone (a CLI
   * without VIGIL_DATABASE_URL) would be erased at the next resync, and seen by no other instance.
   */
  #refuseUnsharedReplica(): void {
    if (!this.#replica && RegistryReplica.isReplica(this.#db)) {
      throw new VigilError('VIGIL_ERR_CONFIG', 'this data dir mirrors a shared registry: set VIGIL_DATABASE_URL (or VIGIL_DATABASE_URL_FILE) to change patients or devices');
    }
  }

  revokedDeviceIds(): Set<string> {
    return new Set(this.#stmts.revokedIds.all().map((r) => r.id));
  }

  async authenticateDevice(id: string, secret: Buffer): Promise<DeviceAuthResult> {
    const row = this.#stmts.device.get(id);
    if (!row) {
      // Spend the same time as a real check, so that timing does not tell which device ids exist.
      await verifySecret(secret, await dummyHash());
      return 'unknown';
    }
    const ok =
      this.#verified.matches(id, row.secret_hash, secret) || (await verifySecret(secret, row.secret_hash));
    if (!ok) return 'bad-secret';
    this.#verified.remember(id, row.secret_hash, secret);
    return row.revoked_at === null ? 'ok' : 'revoked';
  }

  /**
   * A Nightscout upload's `api-secret` header (docs/device-protocol.md "Nightscout"): synchronous, one digest. An
   * unknown device costs the same digest as a known one.
   */
  authenticateNightscout(id: string, apiSecret: string): NightscoutAuthResult {
    const row = this.#stmts.device.get(id);
    if (!row) {
      verifyNightscoutSecret(apiSecret, DUMMY_NS_VERIFIER);
      return 'unknown';
    }
    if (row.ns_verifier === null) return 'no-verifier';
    if (!verifyNightscoutSecret(apiSecret, row.ns_verifier)) return 'bad-secret';
    return row.revoked_at === null ? 'ok' : 'revoked';
  }

  /**
   * The device whose Nightscout API secret a request presents, for apps that cannot name the device in the URL
   * (Loop keeps only the host of its site URL). The lookup is by the verifier, a SHA-256 of 160 bits derived
   * from a 256-bit random secret: an index lookup on it tells an attacker nothing a guess could use.
   */
  deviceIdForNightscoutSecret(apiSecret: string): string | undefined {
    return this.#stmts.byNightscoutVerifier.get(presentedNightscoutVerifier(apiSecret))?.id;
  }

  /**
   * Connection and status changes of many devices in one transaction (one fsync): a fleet of 10,000 devices
   * reconnecting must not cost 10,000 synchronous disk flushes on the broker's thread. Applied in order, and
   * written to the shared registry after, when there is one.
   */
  recordStatusChanges(changes: readonly DeviceStatusChange[]): void {
    const mirrored: SqlStatement[] = [];
    bookkeeping(this.#db, () => {
      for (const c of changes) {
        switch (c.kind) {
          case 'status':
            this.#liveness('status', statusParams(c.deviceId, c.status, c.at), c.deviceId, mirrored);
            break;
          case 'connected':
            this.#liveness('online', [c.at, c.at, c.at, c.deviceId, c.at], c.deviceId, mirrored);
            break;
          case 'disconnected':
            this.#liveness('offline', [c.at, c.deviceId, c.at], c.deviceId, mirrored);
            break;
          default: {
            const unreachable: never = c;
            return unreachable;
          }
        }
      }
    });
    // Liveness is bookkeeping: written here first (the ingest path reads it at once), then to the shared registry
    // in the same order, without anyone waiting (registry/liveness-mirror.ts: a failure is reported and retried).
    this.#mirror?.write(mirrored);
  }

  /** One device's own status message (see statusParams); usually batched by recordStatusChanges. */
  recordStatus(id: string, status: DeviceStatus, at: number): void {
    this.recordStatusChanges([{ kind: 'status', deviceId: id, status, at }]);
  }

  /** Last-seen times are batched by the caller: one transaction (one fsync) for many devices. */
  markSeen(entries: Iterable<[deviceId: string, at: number]>): void {
    const mirrored: SqlStatement[] = [];
    bookkeeping(this.#db, () => {
      for (const [id, at] of entries) this.#liveness('seen', [at, at, id], id, mirrored);
    });
    this.#mirror?.write(mirrored);
  }

  /** Writes one liveness statement here, and keeps it for the shared registry when there is one. */
  #liveness(name: keyof typeof LIVENESS, params: SqlValue[], deviceId: string, mirrored: SqlStatement[]): void {
    this.#stmts[name].run(...params);
    this.#devices.delete(deviceId);
    if (this.#mirror) mirrored.push({ sql: LIVENESS[name], params });
  }

}

/**
 * Liveness statements, the same text in both dialects. Battery and firmware keep their last known value when a
 * status leaves them out; the warm-up is replaced, or kept when the seventh parameter is 1 (statusParams).
 * Never backwards: batches from several instances (or a late one) reach the shared registry in any order, so a
 * status older than the one stored (status_at) changes nothing, and the last-seen time only grows.
 */
const LAST_SEEN = 'last_seen_at = CASE WHEN last_seen_at IS NULL OR last_seen_at < ? THEN ? ELSE last_seen_at END';
const NOT_OLDER = '(status_at IS NULL OR status_at <= ?)';
const LIVENESS = {
  status: `UPDATE devices SET online = ?, battery = COALESCE(?, battery), firmware = COALESCE(?, firmware), status_at = ?, ${LAST_SEEN},
    warm_up_until = CASE WHEN ? = 1 THEN warm_up_until ELSE ? END WHERE id = ? AND ${NOT_OLDER}`,
  online: `UPDATE devices SET online = 1, status_at = ?, ${LAST_SEEN} WHERE id = ? AND ${NOT_OLDER}`,
  offline: `UPDATE devices SET online = 0, status_at = ? WHERE id = ? AND ${NOT_OLDER}`,
  seen: `UPDATE devices SET ${LAST_SEEN} WHERE id = ?`,
} as const;

/**
 * The device's own status message. Its `warmUpUntil` replaces the stored warm-up, and a status that is online
 * without one ends it (the sensor is ready). An offline status without one leaves it: that is usually the last
 * will, which the device registered when it connected and which knows nothing of the sensor, and a link lost
 * during a warm-up does not end the warm-up.
 */
function statusParams(id: string, status: DeviceStatus, at: number): SqlValue[] {
  const warmUpUntil = status.warmUpUntil === undefined ? null : Date.parse(status.warmUpUntil);
  const keepWarmUp = warmUpUntil === null && !status.online ? 1 : 0;
  return [status.online ? 1 : 0, status.battery ?? null, status.firmware ?? null, at, at, at, keepWarmUp, warmUpUntil, id, at];
}

// A valid hash of a random secret nobody knows: verifying against it costs what a real verification costs.
const DUMMY_HASH = hashDeviceSecret(generateSecret());
const DUMMY_NS_VERIFIER = nightscoutVerifier(generateSecret());
function dummyHash(): Promise<string> {
  return Promise.resolve(DUMMY_HASH);
}
