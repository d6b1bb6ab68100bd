import type { Programme } from '../domain/index.js';
import type { Enrolment } from './enrolments.js';

export interface Patient {
  readonly id: string;
  readonly name: string;
  readonly createdAt: number;
  /** In the order of enrolment. */
  readonly programmes: readonly Programme[];
  /** The care team that looks after the patient; a clinician sees the patients of their teams. */
  readonly careTeam: string | null;
  /** IANA time zone of the patient's home ("Europe/London"): where "morning" and "a day" are for their rules. */
  readonly timeZone: string;
  /** When the current enrolment in each programme began (epoch ms); a programme left and rejoined starts afresh. */
  readonly enrolledAt: Partial<Record<Programme, number>>;
}

export interface PatientRow {
  id: string;
  name: string;
  createdAt: number;
  careTeam: string | null;
  timeZone: string;
}

export function toPatient(row: PatientRow, enrolment: Enrolment | undefined): Patient {
  const entries = [...(enrolment ?? new Map<Programme, number>())];
  return {
    id: row.id,
    name: row.name,
    createdAt: row.createdAt,
    programmes: entries.map(([programme]) => programme),
    careTeam: row.careTeam,
    timeZone: row.timeZone,
    enrolledAt: Object.fromEntries(entries),
  };
}

/** The columns a PatientRow is read from. */
export const PATIENT_COLUMNS = 'id, name, created_at AS createdAt, care_team AS careTeam, time_zone AS timeZone';
