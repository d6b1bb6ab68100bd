import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { MEDICATION_CLASSES, VigilError, type MedicationClass } from '../domain/index.js';
import type { Actor, AuditLog, StateDb } from '../state/index.js';
import { timeOfDaySchema } from './plan.js';
import { requirePatient } from './plan-store.js';
import { describeIssues } from './describe-issues.js';

/** A medication as the care team enters it; the hub shows name and dose with each reminder. */
export const medicationInputSchema = z.object({
  name: z.string().trim().min(1).max(120),
  dose: z.string().trim().min(1).max(120),
  times: z.array(timeOfDaySchema).min(1).max(8),
  /** After the planned time, how long the patient has to answer before the dose counts as missed. */
  windowMinutes: z.number().int().min(15).max(720).default(120),
  /** What it treats, for rules that read adherence (docs/alerts.md, medication adherence). */
  class: z.enum(MEDICATION_CLASSES).default('other'),
});
export type MedicationInput = z.input<typeof medicationInputSchema>;

export interface Medication {
  readonly id: string;
  readonly patientId: string;
  readonly name: string;
  readonly dose: string;
  readonly times: string[];
  readonly windowMinutes: number;
  readonly class: MedicationClass;
  readonly startedAt: number;
  readonly stoppedAt: number | null;
}

interface MedicationRow {
  id: string;
  patient_id: string;
  name: string;
  dose: string;
  times: string;
  window_minutes: number;
  class: string;
  started_at: number;
  stopped_at: number | null;
}

const toMedication = (r: MedicationRow): Medication => ({
  id: r.id,
  patientId: r.patient_id,
  name: r.name,
  dose: r.dose,
  times: z.array(z.string()).parse(JSON.parse(r.times)),
  windowMinutes: r.window_minutes,
  // A class written by a newer version reads as 'other': no rule counts it rather than the wrong one.
  class: (MEDICATION_CLASSES as readonly string[]).includes(r.class) ? (r.class as MedicationClass) : 'other',
  startedAt: r.started_at,
  stoppedAt: r.stopped_at,
});

/** Medication schedules; a stopped medication keeps its row (its doses stay in the record and the adherence). */
export class Medications {
  readonly #db: StateDb;
  readonly #audit: Pick<AuditLog, 'record'>;
  readonly #stmts;

  constructor(db: StateDb, audit: Pick<AuditLog, 'record'>) {
    this.#db = db;
    this.#audit = audit;
    this.#stmts = {
      insert: db.prepare('INSERT INTO care_medications (id, patient_id, name, dose, times, window_minutes, class, started_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)'),
      of: db.prepare<[string], MedicationRow>('SELECT * FROM care_medications WHERE patient_id = ? ORDER BY started_at, id'),
      active: db.prepare<[], MedicationRow>('SELECT * FROM care_medications WHERE stopped_at IS NULL ORDER BY patient_id, id'),
      get: db.prepare<[string], MedicationRow>('SELECT * FROM care_medications WHERE id = ?'),
      stop: db.prepare('UPDATE care_medications SET stopped_at = ? WHERE id = ? AND stopped_at IS NULL'),
    };
  }

  add(patientId: string, input: unknown, by: Actor, now: number): Medication {
    const parsed = medicationInputSchema.safeParse(input);
    if (!parsed.success) throw new VigilError('VIGIL_ERR_BAD_REQUEST', `medication: ${describeIssues(parsed.error)}`);
    const m = parsed.data;
    requirePatient(this.#db, patientId);
    const id = `m-${randomBytes(6).toString('hex')}`;
    this.#db.transaction(() => {
      this.#stmts.insert.run(id, patientId, m.name, m.dose, JSON.stringify([...new Set(m.times)].sort()), m.windowMinutes, m.class, now);
      this.#audit.record(by, 'care.medication.add', patientId, `medication:${id}`, m, now);
    })();
    return this.get(id)!;
  }

  stop(patientId: string, id: string, by: Actor, now: number): Medication {
    const m = this.get(id);
    if (!m || m.patientId !== patientId) throw new VigilError('VIGIL_ERR_NOT_FOUND', `medication ${id} does not exist for patient ${patientId}`);
    if (m.stoppedAt !== null) throw new VigilError('VIGIL_ERR_CONFLICT', `medication ${id} was already stopped`);
    this.#db.transaction(() => {
      this.#stmts.stop.run(now, id);
      this.#audit.record(by, 'care.medication.stop', patientId, `medication:${id}`, { name: m.name }, now);
    })();
    return this.get(id)!;
  }

  get(id: string): Medication | undefined {
    const row = this.#stmts.get.get(id);
    return row ? toMedication(row) : undefined;
  }

  of(patientId: string): Medication[] {
    return this.#stmts.of.all(patientId).map(toMedication);
  }

  active(): Medication[] {
    return this.#stmts.active.all().map(toMedication);
  }
}
