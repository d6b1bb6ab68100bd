import { checkTimeZone, VigilError, type DeviceStatus } from '../domain/index.js';
import { bookkeeping, changedElsewhere, type StateDb } from '../state/index.js';
import { checkCareTeam, checkId, checkProgrammes, newId } from './checks.js';
import { toDevice, type Device, type DeviceAuthResult, type DeviceKind, type DeviceRow, type DeviceStatusChange, type NightscoutAuthResult } from './device.js';
import { Enrolments } from './enrolments.js';
import { PATIENT_COLUMNS, toPatient, type Patient, type PatientRow } from './patient.js';
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
 * Patients, devices and their assignment, in the state database. The server and the CLI each open their own
 * Registry on the same file, so every read goes to the database: a revocation or reassignment made by the CLI
 * takes effect at the device's next message.
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

  constructor(db: StateDb, options: RegistryOptions = {}) {
    this.#db = db;
    this.#changedElsewhere = changedElsewhere(db, 200);
    this.#enrolments = new Enrolments(db);
    this.#defaultTimeZone = checkTimeZone(options.defaultTimeZone ?? 'UTC');
    this.#stmts = {
      insertPatient: db.prepare('INSERT INTO patients (id, name, created_at, care_team, time_zone) VALUES (?, ?, ?, ?, ?)'),
      patient: db.prepare<[string], PatientRow>(`SELECT ${PATIENT_COLUMNS} FROM patients WHERE id = ?`),
      patients: db.prepare<[], PatientRow>(`SELECT ${PATIENT_COLUMNS} FROM patients ORDER BY created_at, id`),
      setCareTeam: db.prepare('UPDATE patients SET care_team = ? WHERE id = ?'),
      setTimeZone: db.prepare('UPDATE patients SET time_zone = ? WHERE id = ?'),
      insertDevice: db.prepare('INSERT INTO devices (id, patient_id, secret_hash, created_at, assigned_at, ns_verifier, kind) VALUES (?, ?, ?, ?, ?, ?, ?)'),
      device: db.prepare<[string], DeviceRow>('SELECT * FROM devices WHERE id = ?'),
      devices: db.prepare<[], DeviceRow>('SELECT * FROM devices ORDER BY created_at, id'),
      assign: db.prepare('UPDATE devices SET patient_id = ?, assigned_at = ? WHERE id = ?'),
      revoke: db.prepare('UPDATE devices SET revoked_at = ?, online = 0 WHERE id = ? AND revoked_at IS NULL'),
      setSecret: db.prepare('UPDATE devices SET secret_hash = ?, ns_verifier = ?, revoked_at = NULL WHERE id = ?'),
      // Battery and firmware keep their last known value when a status leaves them out; the warm-up is replaced
      // (or kept, when the first parameter says so: see recordStatus).
      status: db.prepare(
        `UPDATE devices SET online = ?, battery = COALESCE(?, battery), firmware = COALESCE(?, firmware), status_at = ?, last_seen_at = ?,
         warm_up_until = CASE ? WHEN 1 THEN warm_up_until ELSE ? END WHERE id = ?`,
      ),
      online: db.prepare('UPDATE devices SET online = 1, status_at = ?, last_seen_at = ? WHERE id = ?'),
      seen: db.prepare('UPDATE devices SET last_seen_at = MAX(COALESCE(last_seen_at, 0), ?) WHERE id = ?'),
      offline: db.prepare('UPDATE devices SET online = 0, status_at = ? WHERE id = ?'),
      revokedIds: db.prepare<[], { id: string }>('SELECT id FROM devices WHERE revoked_at IS NOT NULL'),
      byNightscoutVerifier: db.prepare<[string], { id: string }>('SELECT id FROM devices WHERE ns_verifier = ?'),
    };
  }

  addPatient(input: {
    name: string;
    id?: string | undefined;
    programmes?: readonly string[] | undefined;
    careTeam?: string | null | undefined;
    /** IANA zone; the registry's default (VIGIL_DEFAULT_TIME_ZONE) when not given. */
    timeZone?: string | undefined;
  }): Patient {
    const name = input.name.trim();
    if (!name) throw new VigilError('VIGIL_ERR_CONFIG', 'a patient needs a name');
    const id = input.id ? checkId(input.id, 'patient') : newId('p');
    const programmes = checkProgrammes(input.programmes ?? []);
    const careTeam = checkCareTeam(input.careTeam);
    const timeZone = input.timeZone === undefined ? this.#defaultTimeZone : checkTimeZone(input.timeZone);
    const createdAt = Date.now();
    try {
      this.#db.transaction(() => {
        this.#stmts.insertPatient.run(id, name, createdAt, careTeam, timeZone);
        this.#enrolments.enrol(id, programmes, createdAt);
      })();
    } catch (err) {
      if ((err as { code?: string }).code === 'SQLITE_CONSTRAINT_PRIMARYKEY') {
        throw new VigilError('VIGIL_ERR_CONFLICT', `patient ${id} already exists`);
      }
      throw err;
    }
    return this.getPatient(id)!;
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
  setProgrammes(id: string, programmes: readonly string[]): Patient {
    const checked = checkProgrammes(programmes);
    this.#db.transaction(() => {
      this.#requirePatient(id);
      this.#enrolments.enrol(id, checked, Date.now());
    })();
    return this.getPatient(id)!;
  }

  /** Moves a patient to a care team (or none: then only administrators see the patient). */
  setCareTeam(id: string, team: string | null): Patient {
    this.#requirePatient(id);
    this.#stmts.setCareTeam.run(checkCareTeam(team), id);
    return this.getPatient(id)!;
  }

  /** Sets the patient's IANA time zone (they moved, or it was never set); rules use it from their next evaluation. */
  setTimeZone(id: string, timeZone: string): Patient {
    const zone = checkTimeZone(timeZone);
    this.#requirePatient(id);
    this.#stmts.setTimeZone.run(zone, id);
    return this.getPatient(id)!;
  }

  #requirePatient(id: string): void {
    if (!this.#stmts.patient.get(id)) throw new VigilError('VIGIL_ERR_NOT_FOUND', `patient ${id} does not exist`);
  }

  /** Provisions a device for a patient; returns its secret, which is never shown again. */
  async addDevice(input: { patientId: string; id?: string | undefined; kind?: DeviceKind | undefined }): Promise<{ device: Device; secret: string }> {
    if (!this.getPatient(input.patientId)) {
      throw new VigilError('VIGIL_ERR_NOT_FOUND', `patient ${input.patientId} does not exist`);
    }
    const id = input.id ? checkId(input.id, 'device') : newId('d');
    if (this.#stmts.device.get(id)) throw new VigilError('VIGIL_ERR_CONFLICT', `device ${id} already exists`);
    const secret = generateSecret();
    const hash = hashDeviceSecret(secret);
    const now = Date.now();
    try {
      this.#stmts.insertDevice.run(id, input.patientId, hash, now, now, nightscoutVerifier(secret), input.kind ?? 'device');
    } catch (err) {
      if ((err as { code?: string }).code === 'SQLITE_CONSTRAINT_PRIMARYKEY') {
        throw new VigilError('VIGIL_ERR_CONFLICT', `device ${id} already exists`);
      }
      throw err;
    }
    return { device: this.getDevice(id)!, secret };
  }

  /** Issues a new secret (and lifts a revocation): the old secret stops working at once. */
  async rotateSecret(id: string): Promise<string> {
    if (!this.getDevice(id)) throw new VigilError('VIGIL_ERR_NOT_FOUND', `device ${id} does not exist`);
    const secret = generateSecret();
    this.#stmts.setSecret.run(hashDeviceSecret(secret), nightscoutVerifier(secret), id);
    this.#devices.delete(id);
    return secret;
  }

  /**
   * Assigns a device to a patient (a device handed to someone else, or returned to stock with null). Readings
   * are attributed by the assignment at arrival, so the new patient gets the next one. Assigning a device to the
   * patient it already serves changes nothing, so its assignment time stays.
   */
  assignDevice(id: string, patientId: string | null): Device {
    const device = this.getDevice(id);
    if (!device) throw new VigilError('VIGIL_ERR_NOT_FOUND', `device ${id} does not exist`);
    if (patientId !== null) this.#requirePatient(patientId);
    if (device.patientId === patientId) return device;
    this.#stmts.assign.run(patientId, patientId === null ? null : Date.now(), id);
    this.#devices.delete(id);
    return this.getDevice(id)!;
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

  revokeDevice(id: string): Device {
    const device = this.getDevice(id);
    if (!device) throw new VigilError('VIGIL_ERR_NOT_FOUND', `device ${id} does not exist`);
    this.#stmts.revoke.run(Date.now(), id);
    this.#devices.delete(id);
    return this.getDevice(id)!;
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
   * reconnecting must not cost 10,000 synchronous disk flushes on the broker's thread. Applied in order.
   */
  recordStatusChanges(changes: readonly DeviceStatusChange[]): void {
    bookkeeping(this.#db, () => {
      for (const c of changes) {
        switch (c.kind) {
          case 'status':
            this.recordStatus(c.deviceId, c.status, c.at);
            break;
          case 'connected':
            this.markOnline(c.deviceId, c.at);
            break;
          case 'disconnected':
            this.markOffline(c.deviceId, c.at);
            break;
          default: {
            const unreachable: never = c;
            return unreachable;
          }
        }
      }
    });
  }

  /**
   * The device's own status message. Its `warmUpUntil` replaces the stored warm-up, and a status that is online
   * without one ends it (the sensor is ready). An offline status without one leaves it: that is usually the last
   * will, which the device registered when it connected and which knows nothing of the sensor, and a link lost
   * during a warm-up does not end the warm-up.
   */
  recordStatus(id: string, status: DeviceStatus, at: number): void {
    const warmUpUntil = status.warmUpUntil === undefined ? null : Date.parse(status.warmUpUntil);
    const keepWarmUp = warmUpUntil === null && !status.online ? 1 : 0;
    this.#stmts.status.run(status.online ? 1 : 0, status.battery ?? null, status.firmware ?? null, at, at, keepWarmUp, warmUpUntil, id);
    this.#devices.delete(id);
  }

  /** A connection opened: online, seen now; the last status reported stays as it was. */
  markOnline(id: string, at: number): void {
    this.#stmts.online.run(at, at, id);
    this.#devices.delete(id);
  }

  /** Last-seen times are batched by the caller: one transaction (one fsync) for many devices. */
  markSeen(entries: Iterable<[deviceId: string, at: number]>): void {
    bookkeeping(this.#db, () => {
      for (const [id, at] of entries) {
        this.#stmts.seen.run(at, id);
        this.#devices.delete(id);
      }
    });
  }

  markOffline(id: string, at: number): void {
    this.#stmts.offline.run(at, id);
    this.#devices.delete(id);
  }
}

// A valid hash of a random secret nobody knows: verifying against it costs what a real verification costs.
const DUMMY_HASH = hashDeviceSecret(generateSecret());
const DUMMY_NS_VERIFIER = nightscoutVerifier(generateSecret());
function dummyHash(): Promise<string> {
  return Promise.resolve(DUMMY_HASH);
}
