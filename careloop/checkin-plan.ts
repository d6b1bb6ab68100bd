import { z } from 'zod';
import { isProgramme, VigilError } from '../domain/index.js';
import { actorName, type Actor, type AuditLog, type StateDb } from '../state/index.js';
import { QUESTIONNAIRE_IDS, TEMPLATE_CHECKINS } from './checkin-questionnaires.js';
import { timeOfDaySchema, type PlanTemplate } from './plan.js';
import { requirePatient } from './plan-store.js';
import { describeIssues } from './describe-issues.js';

export const WEEKDAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'] as const;
export type Weekday = (typeof WEEKDAYS)[number];

/** One planned check-in: a questionnaire at local times of the patient's time zone, on some days of the week. */
export const plannedCheckinSchema = z.object({
  questionnaire: z.enum(QUESTIONNAIRE_IDS),
  times: z.array(timeOfDaySchema).min(1).max(4),
  /** Local days of the week; every day when left out. */
  days: z.array(z.enum(WEEKDAYS)).min(1).max(7).default([...WEEKDAYS]),
  /** How long after its time the check-in waits for the patient; the inbox message expires then. */
  windowMinutes: z.number().int().min(15).max(720).default(180),
});
export type PlannedCheckin = z.output<typeof plannedCheckinSchema>;

export const plannedCheckinsSchema = z
  .array(plannedCheckinSchema)
  .max(4)
  .refine((cs) => new Set(cs.map((c) => c.questionnaire)).size === cs.length, { message: 'each questionnaire at most once' });

export interface CheckinPlan {
  readonly patientId: string;
  readonly checkins: PlannedCheckin[];
  readonly createdAt: number;
  readonly updatedAt: number;
  readonly updatedBy: string;
}

/** A programme's check-ins, as the plan template starts them (none for hypertension and diabetes). */
export function templateCheckins(template: PlanTemplate): PlannedCheckin[] {
  return isProgramme(template) ? plannedCheckinsSchema.parse(TEMPLATE_CHECKINS[template] ?? []) : [];
}

/** The local weekday of a local date ("2026-11-29" is a Sunday). */
export function weekdayOf(date: string): Weekday {
  return WEEKDAYS[new Date(`${date}T12:00:00Z`).getUTCDay()]!;
}

interface Row {
  patient_id: string;
  checkins: string;
  created_at: number;
  updated_at: number;
  updated_by: string;
}

/** The check-ins of each patient's plan: one JSON document per patient, edited and audited whole like the plan. */
export class CheckinPlans {
  readonly #db: StateDb;
  readonly #audit: Pick<AuditLog, 'record'>;
  readonly #get;
  readonly #all;
  readonly #upsert;

  constructor(db: StateDb, audit: Pick<AuditLog, 'record'>) {
    this.#db = db;
    this.#audit = audit;
    this.#get = db.prepare<[string], Row>('SELECT * FROM care_checkin_plans WHERE patient_id = ?');
    this.#all = db.prepare<[], Row>('SELECT * FROM care_checkin_plans ORDER BY patient_id');
    this.#upsert = db.prepare(
      `INSERT INTO care_checkin_plans (patient_id, checkins, created_at, updated_at, updated_by) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (patient_id) DO UPDATE SET checkins = excluded.checkins, updated_at = excluded.updated_at, updated_by = excluded.updated_by`,
    );
  }

  get(patientId: string): CheckinPlan | undefined {
    const row = this.#get.get(patientId);
    return row ? toPlan(row) : undefined;
  }

  all(): CheckinPlan[] {
    return this.#all.all().map(toPlan);
  }

  /** Replaces the patient's check-ins (validated: VIGIL_ERR_BAD_REQUEST naming the problem); audited. */
  set(patientId: string, checkins: readonly unknown[], by: Actor, now: number): CheckinPlan {
    const parsed = plannedCheckinsSchema.safeParse(checkins);
    if (!parsed.success) throw new VigilError('VIGIL_ERR_BAD_REQUEST', `check-ins: ${describeIssues(parsed.error, 'checkins')}`);
    requirePatient(this.#db, patientId);
    const data = parsed.data.map((c) => ({ ...c, times: [...new Set(c.times)].sort() }));
    this.#db.transaction(() => {
      const before = this.get(patientId);
      this.#upsert.run(patientId, JSON.stringify(data), now, now, actorName(by));
      this.#audit.record(by, before ? 'care.checkins.update' : 'care.checkins.create', patientId, 'checkins', { checkins: data, before: before?.checkins ?? null }, now);
    })();
    return this.get(patientId)!;
  }
}

function toPlan(row: Row): CheckinPlan {
  // Parsed again so that defaults added later apply to old rows.
  return { patientId: row.patient_id, checkins: plannedCheckinsSchema.parse(JSON.parse(row.checkins)), createdAt: row.created_at, updatedAt: row.updated_at, updatedBy: row.updated_by };
}
