import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { findRule } from '../alerts/index.js';
import { VigilError, type EducationWire } from '../domain/index.js';
import { actorName, type Actor, type AuditLog, type StateDb } from '../state/index.js';
import { requirePatient } from './plan-store.js';
import { describeIssues } from './describe-issues.js';

/** What an item is attached to: the plan (sent with every reminder) or an alert rule (sent with a message about one of its alerts). */
export const PLAN_TARGET = 'plan';

/** At most this many items per target: each goes in every inbox message of its target, and a hub screen is small. */
export const MAX_ITEMS_PER_TARGET = 5;

export const educationInputSchema = z.object({
  title: z.string().trim().min(1).max(120),
  body: z.string().trim().min(1).max(1000),
  /** Further reading for the patient (the hub opens it in a browser): https only. */
  link: z.url({ protocol: /^https$/ }).max(500).optional(),
  attachTo: z.string().trim().min(1).max(80).describe('"plan", or the id of an alert rule such as bp.crisis'),
});
export type EducationInput = z.input<typeof educationInputSchema>;

export interface EducationItem {
  readonly id: string;
  readonly patientId: string;
  readonly attachTo: string;
  readonly title: string;
  readonly body: string;
  readonly link: string | null;
  readonly createdAt: number;
  readonly createdBy: string;
}

interface EducationRow {
  id: string;
  patient_id: string;
  attach_to: string;
  title: string;
  body: string;
  link: string | null;
  created_at: number;
  created_by: string;
}

const toItem = (r: EducationRow): EducationItem => ({
  id: r.id,
  patientId: r.patient_id,
  attachTo: r.attach_to,
  title: r.title,
  body: r.body,
  link: r.link,
  createdAt: r.created_at,
  createdBy: r.created_by,
});

/**
 * Short education items the care team attaches to a patient's plan or to an alert rule (e.g. what to do when
 * BP is very high), sent to the hub inside the reminders and messages they belong with; each change audited.
 */
export class Education {
  readonly #db: StateDb;
  readonly #audit: Pick<AuditLog, 'record'>;
  readonly #stmts;

  constructor(db: StateDb, audit: Pick<AuditLog, 'record'>) {
    this.#db = db;
    this.#audit = audit;
    this.#stmts = {
      insert: db.prepare('INSERT INTO care_education (id, patient_id, attach_to, title, body, link, created_at, created_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?)'),
      of: db.prepare<[string], EducationRow>('SELECT * FROM care_education WHERE patient_id = ? ORDER BY attach_to, created_at, id'),
      attached: db.prepare<[string, string], EducationRow>('SELECT * FROM care_education WHERE patient_id = ? AND attach_to = ? ORDER BY created_at, id'),
      get: db.prepare<[string], EducationRow>('SELECT * FROM care_education WHERE id = ?'),
      remove: db.prepare('DELETE FROM care_education WHERE id = ?'),
    };
  }

  add(patientId: string, input: unknown, by: Actor, now: number): EducationItem {
    const parsed = educationInputSchema.safeParse(input);
    if (!parsed.success) throw new VigilError('VIGIL_ERR_BAD_REQUEST', `education item: ${describeIssues(parsed.error, 'item')}`);
    const item = parsed.data;
    // An item on a misspelt rule would never reach the patient: refused, not kept silently.
    if (item.attachTo !== PLAN_TARGET && !findRule(item.attachTo)) throw new VigilError('VIGIL_ERR_BAD_REQUEST', `education item: attachTo: "${item.attachTo}" is neither "plan" nor an alert rule (vigil rules list)`);
    requirePatient(this.#db, patientId);
    const id = `e-${randomBytes(6).toString('hex')}`;
    this.#db.transaction(() => {
      if (this.#stmts.attached.all(patientId, item.attachTo).length >= MAX_ITEMS_PER_TARGET) {
        throw new VigilError('VIGIL_ERR_CONFLICT', `at most ${MAX_ITEMS_PER_TARGET} education items per plan or alert rule; remove one first`);
      }
      this.#stmts.insert.run(id, patientId, item.attachTo, item.title, item.body, item.link ?? null, now, actorName(by));
      this.#audit.record(by, 'care.education.add', patientId, `education:${id}`, item, now);
    })();
    return this.get(id)!;
  }

  remove(patientId: string, id: string, by: Actor, now: number): EducationItem {
    const item = this.get(id);
    if (!item || item.patientId !== patientId) throw new VigilError('VIGIL_ERR_NOT_FOUND', `education item ${id} does not exist for patient ${patientId}`);
    this.#db.transaction(() => {
      this.#stmts.remove.run(id);
      this.#audit.record(by, 'care.education.remove', patientId, `education:${id}`, { title: item.title, attachTo: item.attachTo }, now);
    })();
    return item;
  }

  get(id: string): EducationItem | undefined {
    const row = this.#stmts.get.get(id);
    return row ? toItem(row) : undefined;
  }

  of(patientId: string): EducationItem[] {
    return this.#stmts.of.all(patientId).map(toItem);
  }

  /** The `education` field of an inbox message for this target, or nothing when no item is attached. */
  wire(patientId: string, attachTo: string | undefined): { education?: EducationWire[] } {
    if (attachTo === undefined) return {};
    const items = this.#stmts.attached.all(patientId, attachTo);
    return items.length === 0 ? {} : { education: items.map((r) => ({ id: r.id, title: r.title, body: r.body, ...(r.link ? { link: r.link } : {}) })) };
  }
}
