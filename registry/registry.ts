import { randomBytes } from 'node:crypto';
import { entityIdSchema, isProgramme, VigilError, type DeviceStatus, type Programme } from '../domain/index.js';
import type { StateDb } from '../state/index.js';
import { generateSecret, hashDeviceSecret, verifySecret, VerifiedSecretCache } from './secrets.js';

export interface Patient {
  readonly id: string;
  readonly name: string;
  readonly createdAt: number;
  readonly programmes: readonly Programme[];
  /** The care team that looks after the patient; a clinician sees the patients of their teams. */
  readonly careTeam: string | null;
}

interface PatientRow {
  id: string;
  name: string;
  createdAt: number;
  programmes: string;
  careTeam: string | null;
}

function toPatient(row: PatientRow): Patient {
  const parsed = JSON.parse(row.programmes) as unknown[];
  return { id: row.id, name: row.name, createdAt: row.createdAt, programmes: parsed.filter(isProgramme), careTeam: row.careTeam };
}

/** Care team names: short, printable, as typed by an administrator ("cardiology-north"). */
export const CARE_TEAM = /^[A-Za-z0-9][A-Za-z0-9 _.-]{0,63}$/;

function checkCareTeam(team: string | null | undefined): string | null {
  if (team === null || team === undefined || team === '') return null;
  if (!CARE_TEAM.test(team)) throw new VigilError('VIGIL_ERR_CONFIG', `care team "${team}" must be 1-64 letters, digits, spaces, _ . or -`);
  return team;
}

function checkProgrammes(programmes: readonly string[]): Programme[] {
  for (const p of programmes) {
    if (!isProgramme(p)) throw new VigilError('VIGIL_ERR_CONFIG', `unknown programme "${p}"`);
  }
  return [...new Set(programmes as Programme[])];
}

export interface Device {
  readonly id: string;
  readonly patientId: string | null;
  readonly createdAt: number;
  readonly revokedAt: number | null;
  readonly online: boolean;
  readonly battery: number | null;
  readonly firmware: string | null;
  readonly lastSeenAt: number | null;
  readonly statusAt: number | null;
}

/** A device came online or reported its status (`status`), or went offline (no `status`). */
export interface DeviceStatusChange {
  readonly deviceId: string;
  readonly status?: DeviceStatus | undefined;
  readonly at: number;
}

export type DeviceAuthResult = 'ok' | 'unknown' | 'bad-secret' | 'revoked';

interface DeviceRow {
  id: string;
  patient_id: string | null;
  secret_hash: string;
  created_at: number;
  revoked_at: number | null;
  online: number;
  battery: number | null;
  firmware: string | null;
  last_seen_at: number | null;
  status_at: number | null;
}

function toDevice(row: DeviceRow): Device {
  return {
    id: row.id,
    patientId: row.patient_id,
    createdAt: row.created_at,
    revokedAt: row.revoked_at,
    online: row.online === 1,
    battery: row.battery,
    firmware: row.firmware,
    lastSeenAt: row.last_seen_at,
    statusAt: row.status_at,
  };
}

function newId(prefix: string): string {
  return `${prefix}-${randomBytes(6).toString('hex')}`;
}

function checkId(id: string, what: string): string {
  const parsed = entityIdSchema.safeParse(id);
  if (!parsed.success) throw new VigilError('VIGIL_ERR_CONFIG', `${what} id "${id}" ${parsed.error.issues[0]?.message}`);
  return parsed.data;
}

/**
 * Patients, devices and their assignment, in the state database. The server and the CLI each open their own
 * Registry on the same file, so every read goes to the database: a revocation or reassignment made by the CLI
 * takes effect at the device's next message.
 */
export class Registry {
  readonly #db: StateDb;
  readonly #verified = new VerifiedSecretCache();
  readonly #stmts;
  /**
   * Devices as last read, for the per-message lookups on the ingest path. Emptied when this process changes a
   * device, and when another process (the CLI) commits to the database: SQLite's data_version, checked at most
   * every 200 ms, tells. A revocation therefore applies within a fraction of a second.
   */
  readonly #devices = new Map<string, Device>();
  #dataVersion = -1;
  #checkedAt = 0;

  constructor(db: StateDb) {
    this.#db = db;
    this.#stmts = {
      insertPatient: db.prepare('INSERT INTO patients (id, name, created_at, programmes, care_team) VALUES (?, ?, ?, ?, ?)'),
      patient: db.prepare<[string], PatientRow>('SELECT id, name, created_at AS createdAt, programmes, care_team AS careTeam FROM patients WHERE id = ?'),
      patients: db.prepare<[], PatientRow>('SELECT id, name, created_at AS createdAt, programmes, care_team AS careTeam FROM patients ORDER BY created_at, id'),
      setProgrammes: db.prepare('UPDATE patients SET programmes = ? WHERE id = ?'),
      setCareTeam: db.prepare('UPDATE patients SET care_team = ? WHERE id = ?'),
      insertDevice: db.prepare('INSERT INTO devices (id, patient_id, secret_hash, created_at) VALUES (?, ?, ?, ?)'),
      device: db.prepare<[string], DeviceRow>('SELECT * FROM devices WHERE id = ?'),
      devices: db.prepare<[], DeviceRow>('SELECT * FROM devices ORDER BY created_at, id'),
      revoke: db.prepare('UPDATE devices SET revoked_at = ?, online = 0 WHERE id = ? AND revoked_at IS NULL'),
      setSecret: db.prepare('UPDATE devices SET secret_hash = ?, revoked_at = NULL WHERE id = ?'),
      status: db.prepare(
        'UPDATE devices SET online = ?, battery = COALESCE(?, battery), firmware = COALESCE(?, firmware), status_at = ?, last_seen_at = ? WHERE id = ?',
      ),
      seen: db.prepare('UPDATE devices SET last_seen_at = MAX(COALESCE(last_seen_at, 0), ?) WHERE id = ?'),
      offline: db.prepare('UPDATE devices SET online = 0, status_at = ? WHERE id = ?'),
      revokedIds: db.prepare<[], { id: string }>('SELECT id FROM devices WHERE revoked_at IS NOT NULL'),
      dataVersion: db.prepare<[], { data_version: number }>('PRAGMA data_version'),
    };
  }

  addPatient(input: { name: string; id?: string | undefined; programmes?: readonly string[] | undefined; careTeam?: string | null | undefined }): Patient {
    const name = input.name.trim();
    if (!name) throw new VigilError('VIGIL_ERR_CONFIG', 'a patient needs a name');
    const id = input.id ? checkId(input.id, 'patient') : newId('p');
    const programmes = checkProgrammes(input.programmes ?? []);
    const careTeam = checkCareTeam(input.careTeam);
    const createdAt = Date.now();
    try {
      this.#stmts.insertPatient.run(id, name, createdAt, JSON.stringify(programmes), careTeam);
    } catch (err) {
      if ((err as { code?: string }).code === 'SQLITE_CONSTRAINT_PRIMARYKEY') {
        throw new VigilError('VIGIL_ERR_CONFLICT', `patient ${id} already exists`);
      }
      throw err;
    }
    return { id, name, createdAt, programmes, careTeam };
  }

  getPatient(id: string): Patient | undefined {
    const row = this.#stmts.patient.get(id);
    return row ? toPatient(row) : undefined;
  }

  listPatients(): Patient[] {
    return this.#stmts.patients.all().map(toPatient);
  }

  /** Enrols a patient in exactly these programmes; their rules apply from the next reading. */
  setProgrammes(id: string, programmes: readonly string[]): Patient {
    if (!this.getPatient(id)) throw new VigilError('VIGIL_ERR_NOT_FOUND', `patient ${id} does not exist`);
    this.#stmts.setProgrammes.run(JSON.stringify(checkProgrammes(programmes)), id);
    return this.getPatient(id)!;
  }

  /** Moves a patient to a care team (or none: then only administrators see the patient). */
  setCareTeam(id: string, team: string | null): Patient {
    if (!this.getPatient(id)) throw new VigilError('VIGIL_ERR_NOT_FOUND', `patient ${id} does not exist`);
    this.#stmts.setCareTeam.run(checkCareTeam(team), id);
    return this.getPatient(id)!;
  }

  /** Provisions a device for a patient; returns its secret, which is never shown again. */
  async addDevice(input: { patientId: string; id?: string | undefined }): Promise<{ device: Device; secret: string }> {
    if (!this.getPatient(input.patientId)) {
      throw new VigilError('VIGIL_ERR_NOT_FOUND', `patient ${input.patientId} does not exist`);
    }
    const id = input.id ? checkId(input.id, 'device') : newId('d');
    if (this.#stmts.device.get(id)) throw new VigilError('VIGIL_ERR_CONFLICT', `device ${id} already exists`);
    const secret = generateSecret();
    const hash = hashDeviceSecret(secret);
    try {
      this.#stmts.insertDevice.run(id, input.patientId, hash, Date.now());
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
    this.#stmts.setSecret.run(hashDeviceSecret(secret), id);
    this.#devices.delete(id);
    return secret;
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
    const now = Date.now();
    if (now - this.#checkedAt < 200) return;
    this.#checkedAt = now;
    const version = this.#stmts.dataVersion.get()?.data_version ?? 0;
    if (version !== this.#dataVersion) {
      this.#dataVersion = version;
      this.#devices.clear();
    }
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
   * Connection and status changes of many devices in one transaction (one fsync): a fleet of 10,000 devices
   * reconnecting must not cost 10,000 synchronous disk flushes on the broker's thread. Applied in order.
   */
  recordStatusChanges(changes: readonly DeviceStatusChange[]): void {
    this.#db.transaction(() => {
      for (const c of changes) {
        if (c.status) this.recordStatus(c.deviceId, c.status, c.at);
        else this.markOffline(c.deviceId, c.at);
      }
    })();
  }

  recordStatus(id: string, status: DeviceStatus, at: number): void {
    this.#stmts.status.run(status.online ? 1 : 0, status.battery ?? null, status.firmware ?? null, at, at, id);
    this.#devices.delete(id);
  }

  /** Last-seen times are batched by the caller: one transaction (one fsync) for many devices. */
  markSeen(entries: Iterable<[deviceId: string, at: number]>): void {
    this.#db.transaction(() => {
      for (const [id, at] of entries) {
        this.#stmts.seen.run(at, id);
        this.#devices.delete(id);
      }
    })();
  }

  markOffline(id: string, at: number): void {
    this.#stmts.offline.run(at, id);
    this.#devices.delete(id);
  }
}

// A valid hash of a random secret nobody knows: verifying against it costs what a real verification costs.
const DUMMY_HASH = hashDeviceSecret(generateSecret());
function dummyHash(): Promise<string> {
  return Promise.resolve(DUMMY_HASH);
}
