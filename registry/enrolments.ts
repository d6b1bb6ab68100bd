import { isProgramme, type Programme } from '../domain/index.js';
import type { SqlStatement, StateDb } from '../state/index.js';

/** A patient's programmes in the order they were enrolled, each with the time its enrolment began (epoch ms). */
export type Enrolment = ReadonlyMap<Programme, number>;

interface Row {
  patientId: string;
  programme: string;
  enrolledAt: number;
}

function add(into: Map<Programme, number>, row: Row): void {
  // A programme this version no longer knows (written by a newer one) is left in the table and not shown.
  if (isProgramme(row.programme)) into.set(row.programme, row.enrolledAt);
}

/** Enrolments (table patient_programmes), read from the state database (changed by enrolStatements). */
export class Enrolments {
  readonly #stmts;

  constructor(db: StateDb) {
    this.#stmts = {
      of: db.prepare<[string], Row>(
        'SELECT patient_id AS patientId, programme, enrolled_at AS enrolledAt FROM patient_programmes WHERE patient_id = ? ORDER BY rowid',
      ),
      all: db.prepare<[], Row>('SELECT patient_id AS patientId, programme, enrolled_at AS enrolledAt FROM patient_programmes ORDER BY rowid'),
    };
  }

  of(patientId: string): Enrolment {
    const enrolment = new Map<Programme, number>();
    for (const row of this.#stmts.of.all(patientId)) add(enrolment, row);
    return enrolment;
  }

  /** Every patient's enrolments in one query (the worklist lists thousands of patients). */
  all(): ReadonlyMap<string, Enrolment> {
    const byPatient = new Map<string, Map<Programme, number>>();
    for (const row of this.#stmts.all.all()) {
      let enrolment = byPatient.get(row.patientId);
      if (!enrolment) byPatient.set(row.patientId, (enrolment = new Map()));
      add(enrolment, row);
    }
    return byPatient;
  }
}

/**
 * The statements that make the patient's programmes exactly these, for the transaction that changes the patient.
 * A programme kept across a change keeps its enrolment time; a new one, or one left and joined again, is enrolled
 * at `at`, since its rules must then wait for new history. The same text in both dialects.
 */
export function enrolStatements(patientId: string, programmes: readonly Programme[], at: number): SqlStatement[] {
  const left: SqlStatement =
    programmes.length === 0
      ? { sql: 'DELETE FROM patient_programmes WHERE patient_id = ?', params: [patientId] }
      : { sql: `DELETE FROM patient_programmes WHERE patient_id = ? AND programme NOT IN (${programmes.map(() => '?').join(', ')})`, params: [patientId, ...programmes] };
  return [
    left,
    ...programmes.map((programme) => ({
      sql: 'INSERT INTO patient_programmes (patient_id, programme, enrolled_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING',
      params: [patientId, programme, at],
    })),
  ];
}
