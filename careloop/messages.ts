import type { StateDb } from '../state/index.js';

export interface CareMessage {
  readonly id: string;
  readonly patientId: string;
  readonly direction: 'to_patient' | 'from_patient';
  readonly text: string;
  readonly at: number;
  /** The clinician (audit actor name) for a message to the patient; `hub:<id>` for the patient's. */
  readonly author: string;
  readonly replyTo: string | null;
  readonly alertId: number | null;
  readonly measure: string | null;
}

interface MessageRow {
  id: string;
  patient_id: string;
  direction: 'to_patient' | 'from_patient';
  text: string;
  at: number;
  author: string;
  reply_to: string | null;
  alert_id: number | null;
  measure: string | null;
}

/** The conversation between the care team and the patient: part of the patient's record (exported, erased with it). */
export class MessageLog {
  readonly #insert;
  readonly #thread;

  constructor(db: StateDb) {
    this.#insert = db.prepare(
      'INSERT INTO care_messages (id, patient_id, direction, text, at, author, reply_to, alert_id, measure) VALUES (@id, @patientId, @direction, @text, @at, @author, @replyTo, @alertId, @measure)',
    );
    this.#thread = db.prepare<[string, number], MessageRow>('SELECT * FROM (SELECT rowid AS seq, * FROM care_messages WHERE patient_id = ? ORDER BY at DESC, seq DESC LIMIT ?) ORDER BY at, seq');
  }

  add(message: CareMessage): void {
    this.#insert.run(message);
  }

  /** The latest messages, oldest first. */
  thread(patientId: string, limit = 100): CareMessage[] {
    return this.#thread.all(patientId, limit).map((r) => ({
      id: r.id,
      patientId: r.patient_id,
      direction: r.direction,
      text: r.text,
      at: r.at,
      author: r.author,
      replyTo: r.reply_to,
      alertId: r.alert_id,
      measure: r.measure,
    }));
  }
}
