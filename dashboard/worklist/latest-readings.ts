import type { LatestReading as LatestReadingShape, Reading, ReadingType } from '../../domain/index.js';
import { bookkeeping, type StateDb } from '../../state/index.js';

/** A patient's latest reading of one type (its wire shape, domain/api/reading.ts). */
export type LatestReading = Readonly<LatestReadingShape>;

/**
 * Each patient's latest reading of each type, for the worklist: kept in memory (the worklist of 5,000
 * patients is built without a store query), written to the state database about once a second so that a
 * restart starts with them.
 */
export class LatestReadings {
  readonly #db: StateDb;
  readonly #byPatient = new Map<string, Map<ReadingType, LatestReading>>();
  readonly #dirty = new Map<string, LatestReading & { patientId: string }>();
  readonly #timer: NodeJS.Timeout;

  readonly #onError: (err: Error) => void;
  #version = 0;
  /** Each patient's `version` at their latest change: whose readings are newer than a ranking. */
  readonly #changedAt = new Map<string, number>();
  readonly #dataVersion;

  constructor(db: StateDb, flushMs = 1000, onError: (err: Error) => void = () => undefined) {
    this.#db = db;
    this.#onError = onError;
    this.#dataVersion = db.prepare<[], { data_version: number }>('PRAGMA data_version');
    const rows = db.prepare('SELECT patient_id AS patientId, reading FROM latest_readings').all() as { patientId: string; reading: string }[];
    for (const row of rows) this.#set(row.patientId, JSON.parse(row.reading) as LatestReading);
    this.#timer = setInterval(() => this.#tryFlush(), flushMs);
    this.#timer.unref();
  }

  #set(patientId: string, reading: LatestReading): boolean {
    let types = this.#byPatient.get(patientId);
    if (!types) this.#byPatient.set(patientId, (types = new Map()));
    const current = types.get(reading.type);
    if (current && current.time >= reading.time) return false;
    types.set(reading.type, reading);
    return true;
  }

  /** Returns the readings that are now some patient's latest of their type (a backlog is older, so not). */
  note(readings: readonly Reading[]): Reading[] {
    const newer: Reading[] = [];
    for (const r of readings) {
      const latest: LatestReading = { type: r.type, time: r.time, deviceId: r.deviceId, fields: r.fields, tags: r.tags };
      if (this.#set(r.patientId, latest)) {
        this.#changedAt.set(r.patientId, ++this.#version);
        this.#dirty.set(`${r.patientId}\u0000${r.type}`, { ...latest, patientId: r.patientId });
        newer.push(r);
      }
    }
    return newer;
  }

  /** Counts the changes: a worklist built at one version is out of date once it moves. */
  get version(): number {
    return this.#version;
  }

  /** Whether the patient's latest readings changed after `version`. */
  changedSince(patientId: string, version: number): boolean {
    return (this.#changedAt.get(patientId) ?? 0) > version;
  }

  /**
   * The state database's data_version: it moves with every commit another connection makes (the CLI, another
   * process: a patient moved to another care team, erased, enrolled) and never with this connection's own. The
   * worklist's ranking, which holds the registry's patients for a second, ranks again when it moves, as the
   * dashboard's other routes read the registry afresh with every request.
   */
  dataVersion(): number {
    return this.#dataVersion.get()?.data_version ?? 0;
  }

  of(patientId: string): ReadonlyMap<ReadingType, LatestReading> {
    return this.#byPatient.get(patientId) ?? new Map();
  }

  /** The time of the patient's most recent reading of any type. */
  lastAt(patientId: string): number | null {
    let last: number | null = null;
    for (const r of this.of(patientId).values()) if (last === null || r.time > last) last = r.time;
    return last;
  }

  /** A full disk or a locked database must not take the server down: the entries stay dirty for the next try. */
  #tryFlush(): void {
    try {
      this.flush();
    } catch (err) {
      this.#onError(err as Error);
    }
  }

  flush(): void {
    if (this.#dirty.size === 0) return;
    const entries = [...this.#dirty.values()];
    const upsert = this.#db.prepare(
      `INSERT INTO latest_readings (patient_id, type, time, reading) VALUES (?, ?, ?, ?)
       ON CONFLICT (patient_id, type) DO UPDATE SET time = excluded.time, reading = excluded.reading WHERE excluded.time > latest_readings.time`,
    );
    bookkeeping(this.#db, () => {
      for (const { patientId, ...reading } of entries) upsert.run(patientId, reading.type, reading.time, JSON.stringify(reading));
    });
    // Only now: a failed write leaves them to be written next time (newer readings may have replaced some).
    for (const e of entries) {
      const key = `${e.patientId}\u0000${e.type}`;
      if (this.#dirty.get(key) === e) this.#dirty.delete(key);
    }
  }

  close(): void {
    clearInterval(this.#timer);
    this.#tryFlush();
  }
}
