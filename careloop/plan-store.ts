import { VigilError } from '../domain/index.js';
import { actorName, type Actor, type AuditLog, type StateDb } from '../state/index.js';
import { measurementsSchema, PLAN_TEMPLATES, type CarePlan, type PlannedMeasurement, type PlanTemplate } from './plan.js';
import { describeIssues } from './describe-issues.js';

/** Plans and medications belong to a registered patient: a coded error rather than a foreign-key failure. */
export function requirePatient(db: StateDb, patientId: string): void {
  if (!db.prepare('SELECT 1 FROM patients WHERE id = ?').get(patientId)) throw new VigilError('VIGIL_ERR_NOT_FOUND', `patient ${patientId} does not exist`);
}

interface PlanRow {
  patient_id: string;
  template: string;
  measurements: string;
  created_at: number;
  updated_at: number;
  updated_by: string;
}

/** Monitoring plans, one per patient; each change is audited in the same transaction. */
export class PlanStore {
  readonly #db: StateDb;
  readonly #audit: Pick<AuditLog, 'record'>;
  readonly #get;
  readonly #all;
  readonly #upsert;
  readonly #delete;

  constructor(db: StateDb, audit: Pick<AuditLog, 'record'>) {
    this.#db = db;
    this.#audit = audit;
    this.#get = db.prepare<[string], PlanRow>('SELECT * FROM care_plans WHERE patient_id = ?');
    this.#all = db.prepare<[], PlanRow>('SELECT * FROM care_plans ORDER BY patient_id');
    this.#upsert = db.prepare(
      `INSERT INTO care_plans (patient_id, template, measurements, created_at, updated_at, updated_by) VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT (patient_id) DO UPDATE SET template = excluded.template, measurements = excluded.measurements, updated_at = excluded.updated_at, updated_by = excluded.updated_by`,
    );
    this.#delete = db.prepare('DELETE FROM care_plans WHERE patient_id = ?');
  }

  get(patientId: string): CarePlan | undefined {
    const row = this.#get.get(patientId);
    return row ? toPlan(row) : undefined;
  }

  all(): CarePlan[] {
    return this.#all.all().map(toPlan);
  }

  /** Replaces the patient's plan (validated: VIGIL_ERR_BAD_REQUEST naming the problem). */
  set(patientId: string, template: PlanTemplate, measurements: readonly unknown[], by: Actor, now: number): CarePlan {
    const parsed = measurementsSchema.safeParse(measurements);
    if (!parsed.success) throw new VigilError('VIGIL_ERR_BAD_REQUEST', `plan: ${describeIssues(parsed.error, 'measurements')}`);
    requirePatient(this.#db, patientId);
    this.#db.transaction(() => {
      const before = this.get(patientId);
      this.#upsert.run(patientId, template, JSON.stringify(parsed.data), now, now, actorName(by));
      this.#audit.record(by, before ? 'care.plan.update' : 'care.plan.create', patientId, 'plan', { template, measurements: parsed.data, before: before?.measurements ?? null }, now);
    })();
    return this.get(patientId)!;
  }

  remove(patientId: string, by: Actor, now: number): boolean {
    return this.#db.transaction(() => {
      const removed = this.#delete.run(patientId).changes > 0;
      if (removed) this.#audit.record(by, 'care.plan.remove', patientId, 'plan', undefined, now);
      return removed;
    })();
  }
}

function toPlan(row: PlanRow): CarePlan {
  // Written through measurementsSchema; parsed again so that defaults added later apply to old rows.
  const measurements: PlannedMeasurement[] = measurementsSchema.parse(JSON.parse(row.measurements));
  const template = (PLAN_TEMPLATES as readonly string[]).includes(row.template) ? (row.template as PlanTemplate) : 'custom';
  return { patientId: row.patient_id, template, measurements, createdAt: row.created_at, updatedAt: row.updated_at, updatedBy: row.updated_by };
}
