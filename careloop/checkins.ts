import { addDays, localDate, type CheckinAnswer, type HubReply, type InboxMessage } from '../domain/index.js';
import type { ReplyProblem } from '../gateway/index.js';
import type { StateDb } from '../state/index.js';
import { CheckinPlans, weekdayOf, type PlannedCheckin } from './checkin-plan.js';
import { isWorseBreathing, questionnaireWire, QUESTIONNAIRES } from './checkin-questionnaires.js';
import { newInboxId, type Inbox, type InboxEntry } from './inbox.js';
import { localInstant } from './plan.js';

const MINUTE = 60_000;
const iso = (t: number) => new Date(t).toISOString();

/** One answer as stored: a coded patient-reported observation (docs/checkins.md). */
export interface CheckinObservation {
  readonly inboxId: string;
  readonly questionnaire: string;
  readonly question: string;
  readonly answer: string;
  /** 0 the patient's usual (or no symptom); higher is worse. */
  readonly score: number;
  readonly codeSystem: string;
  readonly code: string;
  /** When the patient answered (the hub's clock, never later than arrival). */
  readonly at: number;
  readonly recordedAt: number;
}

interface Row {
  inbox_id: string;
  questionnaire: string;
  question: string;
  answer: string;
  score: number;
  code_system: string;
  code: string;
  at: number;
  recorded_at: number;
}

const toObservation = (r: Row): CheckinObservation => ({
  inboxId: r.inbox_id,
  questionnaire: r.questionnaire,
  question: r.question,
  answer: r.answer,
  score: r.score,
  codeSystem: r.code_system,
  code: r.code,
  at: r.at,
  recordedAt: r.recorded_at,
});

/**
 * Symptom check-ins: the questionnaires of each patient's plan go to the hub's inbox at their local times (the
 * inbox and its delivery are the care loop's), and the hub's answers are checked against the questionnaire sent
 * and stored as coded observations, before the PUBACK.
 */
export class Checkins {
  readonly plans: CheckinPlans;
  readonly #db: StateDb;
  readonly #inbox: Inbox;
  readonly #stmts;
  #answered: ((patientId: string, observations: readonly CheckinObservation[]) => void) | undefined;

  constructor(db: StateDb, audit: ConstructorParameters<typeof CheckinPlans>[1], inbox: Inbox) {
    this.#db = db;
    this.#inbox = inbox;
    this.plans = new CheckinPlans(db, audit);
    this.#stmts = {
      insert: db.prepare(
        'INSERT OR IGNORE INTO care_checkin_answers (inbox_id, patient_id, questionnaire, question, answer, score, code_system, code, at, recorded_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
      ),
      of: db.prepare<[string], Row>('SELECT * FROM care_checkin_answers WHERE inbox_id = ? ORDER BY question'),
      between: db.prepare<[string, number, number, number], Row>('SELECT * FROM (SELECT * FROM care_checkin_answers WHERE patient_id = ? AND at >= ? AND at < ? ORDER BY at DESC LIMIT ?) ORDER BY at, question'),
    };
  }

  /** Told of every check-in answered (the rules look at the symptoms again); set once by the application. */
  onAnswered(listener: (patientId: string, observations: readonly CheckinObservation[]) => void): void {
    this.#answered = listener;
  }

  /** Puts the check-ins due at `now` in the inbox of each patient's hub; returns how many. */
  schedule(hubs: ReadonlyMap<string, string>, timeZoneOf: (patientId: string) => string | undefined, now: number): number {
    let added = 0;
    for (const plan of this.plans.all()) {
      const hubId = hubs.get(plan.patientId);
      const timeZone = hubId === undefined ? undefined : timeZoneOf(plan.patientId);
      if (!hubId || !timeZone) continue;
      for (const c of plan.checkins) added += this.#due(plan.patientId, hubId, timeZone, c, plan.createdAt, now);
    }
    return added;
  }

  #due(patientId: string, hubId: string, timeZone: string, c: PlannedCheckin, since: number, now: number): number {
    const questionnaire = QUESTIONNAIRES[c.questionnaire]!;
    const today = localDate(now, timeZone);
    let added = 0;
    // Yesterday too: a window may run past local midnight.
    for (const date of [addDays(today, -1), today]) {
      if (!c.days.includes(weekdayOf(date))) continue;
      for (const time of c.times) {
        const dueAt = localInstant(date, time, timeZone);
        const windowEndsAt = dueAt + c.windowMinutes * MINUTE;
        if (dueAt > now || windowEndsAt <= now || dueAt < since) continue;
        if (this.#inbox.hasSlot(patientId, 'checkin', c.questionnaire, dueAt)) continue;
        const id = newInboxId('c');
        const message: InboxMessage = { v: 1, id, kind: 'checkin', created: iso(now), expiresAt: iso(windowEndsAt), questionnaire: questionnaireWire(questionnaire), dueAt: iso(dueAt) };
        if (this.#inbox.add({ id, patientId, hubId, message, subject: c.questionnaire, dueAt, windowEndsAt, createdAt: now, expiresAt: windowEndsAt })) added += 1;
      }
    }
    return added;
  }

  /**
   * The hub's answers to check-in `entry`: each question and answer code must be the questionnaire's, else the
   * whole reply is refused (nothing stored). Answers sent again are ignored, so a resend is safe.
   */
  record(entry: InboxEntry, reply: Extract<HubReply, { type: 'checkin' }>, at: number, now: number): ReplyProblem | undefined {
    const bad = (message: string): ReplyProblem => ({ ref: entry.id, code: 'VIGIL_ERR_BAD_REPLY', message });
    if (entry.kind !== 'checkin') return bad(`checkin answers a check-in; ${entry.id} is a ${entry.kind}`);
    const questionnaire = QUESTIONNAIRES[entry.subject];
    if (!questionnaire) return bad(`the questionnaire ${entry.subject} is no longer known`);
    const rows: CheckinObservation[] = [];
    for (const a of reply.answers as CheckinAnswer[]) {
      const item = questionnaire.items.find((i) => i.id === a.question);
      if (!item) return bad(`${questionnaire.id} has no question ${a.question}`);
      const option = item.answers.find((o) => o.code === a.answer);
      if (!option) return bad(`${a.answer} is not an answer to ${a.question} (${item.answers.map((o) => o.code).join(', ')})`);
      rows.push({ inboxId: entry.id, questionnaire: questionnaire.id, question: item.id, answer: option.code, score: option.score, codeSystem: item.code.system, code: item.code.code, at, recordedAt: now });
    }
    const added = this.#db.transaction(() => {
      let n = 0;
      for (const r of rows) n += this.#stmts.insert.run(entry.id, entry.patientId, r.questionnaire, r.question, r.answer, r.score, r.codeSystem, r.code, r.at, r.recordedAt).changes;
      return n;
    })();
    if (added > 0) this.#answered?.(entry.patientId, rows);
    return undefined;
  }

  /** The answers to one check-in. */
  answersTo(inboxId: string): CheckinObservation[] {
    return this.#stmts.of.all(inboxId).map(toObservation);
  }

  /** The patient's answers in [from, to), oldest first (the latest `limit`). */
  answers(patientId: string, from: number, to: number, limit = 1000): CheckinObservation[] {
    return this.#stmts.between.all(patientId, from, to, limit).map(toObservation);
  }

  /** When the patient last reported breathing worse than usual (or sleeping propped up) in [from, to), if they did. */
  worseBreathingAt(patientId: string, from: number, to: number): number | undefined {
    const worse = this.answers(patientId, from, to).filter((o) => isWorseBreathing(o.questionnaire, o.question, o.answer));
    return worse.at(-1)?.at;
  }
}
