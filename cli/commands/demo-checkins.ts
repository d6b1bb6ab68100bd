import { questionnaireWire, QUESTIONNAIRES, templateCheckins } from '../../careloop/index.js';
import type { InboxMessage, Programme } from '../../domain/index.js';
import { simulatedCheckinAnswers, type Rng } from '../../simulators/index.js';
import type { Vigil } from '../../app/vigil.js';

const DAY = 86_400_000;
const MINUTE = 60_000;
const BY = { name: 'demo', origin: 'cli' };

/**
 * The demo's check-ins (docs/checkins.md): the programme's check-ins in the plan (heart failure and COPD have
 * them), dated `days` back, and that many days of answers drawn with the patient's adherence, so that the
 * patient page's timeline shows answers at once. Idempotent (one check-in per slot).
 */
export function seedDemoCheckins(vigil: Vigil, patientId: string, hubId: string, programme: Programme, adherence: number, rng: Rng, now: number, days: number): void {
  const planned = templateCheckins(programme);
  if (planned.length === 0) return;
  if (!vigil.care.checkins.plans.get(patientId)) vigil.care.checkins.plans.set(patientId, planned, BY, now - days * DAY);
  // The demo patients live in UTC (the default zone): a check-in at 08:30 is at 08:30Z.
  const today = new Date(now).toISOString().slice(0, 10);
  for (const c of vigil.care.checkins.plans.get(patientId)!.checkins) {
    const wire = questionnaireWire(QUESTIONNAIRES[c.questionnaire]!);
    for (let d = days; d >= 1; d--) {
      for (const time of c.times) {
        const dueAt = Date.parse(`${today}T${time}:00Z`) - d * DAY;
        const windowEndsAt = dueAt + c.windowMinutes * MINUTE;
        const id = `c-demo-${patientId}-${dueAt}`;
        const message: InboxMessage = { v: 1, id, kind: 'checkin', created: new Date(dueAt).toISOString(), expiresAt: new Date(windowEndsAt).toISOString(), questionnaire: wire, dueAt: new Date(dueAt).toISOString() };
        if (!vigil.care.inbox.add({ id, patientId, hubId, message, subject: c.questionnaire, dueAt, windowEndsAt, createdAt: dueAt, expiresAt: windowEndsAt })) continue;
        vigil.care.inbox.markSent(id, dueAt);
        if (!rng.chance(adherence)) continue;
        const at = dueAt + 20 * MINUTE;
        vigil.care.checkins.record(vigil.care.inbox.get(id)!, { v: 1, type: 'checkin', ref: id, at: new Date(at).toISOString(), answers: simulatedCheckinAnswers(wire, rng) }, at, now);
      }
    }
  }
}
