import { bookkeeping, type StateDb } from '../../state/index.js';

/**
 * What the sweep and the webhook must remember across restarts: the newest measurement time per patient and
 * series (missing-data rules), and the webhook's delivered position.
 */
export class SweepState {
  readonly #db: StateDb;
  readonly #s;

  constructor(db: StateDb) {
    this.#db = db;
    this.#s = {
      lastReadings: db.prepare<[], { patient_id: string; series: string; time: number }>('SELECT patient_id, series, time FROM last_readings'),
      saveLastReading: db.prepare(
        'INSERT INTO last_readings (patient_id, series, time) VALUES (?, ?, ?) ON CONFLICT (patient_id, series) DO UPDATE SET time = MAX(time, excluded.time)',
      ),
      webhookCursor: db.prepare<[], { seq: number }>('SELECT seq FROM webhook_cursor WHERE id = 1'),
      setWebhookCursor: db.prepare('INSERT INTO webhook_cursor (id, seq) VALUES (1, ?) ON CONFLICT (id) DO UPDATE SET seq = excluded.seq'),
    };
  }

  /** Keyed `${patientId}\u0000${series}`. */
  lastReadings(): Map<string, number> {
    return new Map(this.#s.lastReadings.all().map((r) => [`${r.patient_id}\u0000${r.series}`, r.time]));
  }

  saveLastReadings(entries: Iterable<[string, number]>): void {
    bookkeeping(this.#db, () => {
      for (const [key, time] of entries) {
        const [patientId, series] = key.split('\u0000') as [string, string];
        this.#s.saveLastReading.run(patientId, series, time);
      }
    });
  }

  webhookCursor(): number | undefined {
    return this.#s.webhookCursor.get()?.seq;
  }

  setWebhookCursor(seq: number): void {
    bookkeeping(this.#db, () => this.#s.setWebhookCursor.run(seq));
  }

  /** The webhook's position as stored (the embedded cursor is read without waiting). */
  known(): number | undefined {
    return this.webhookCursor();
  }
}
