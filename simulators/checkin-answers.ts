import type { CheckinAnswer, InboxMessage } from '../domain/index.js';
import type { Rng } from './rng.js';

type Questionnaire = Extract<InboxMessage, { kind: 'checkin' }>['questionnaire'];

/**
 * A simulated patient's answers to a check-in: mostly their usual (the first answers of each question are the
 * usual ones, docs/hub-protocol.md), now and then a worse one, with `worseChance` per question.
 */
export function simulatedCheckinAnswers(questionnaire: Questionnaire, rng: Rng, worseChance = 0.15): CheckinAnswer[] {
  return questionnaire.questions.map((q) => {
    // Options are ordered from usual to worst; the usual ones are the first one or two.
    const usual = q.answers.slice(0, Math.min(2, q.answers.length - 1));
    const worse = q.answers.slice(usual.length);
    const pool = rng.chance(worseChance) ? worse : usual;
    return { question: q.id, answer: rng.pick(pool).code };
  });
}
