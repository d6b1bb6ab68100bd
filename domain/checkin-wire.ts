import { z } from 'zod';

/**
 * Symptom check-ins on the hub protocol (docs/hub-protocol.md "Check-in"): the questionnaire travels whole in the
 * inbox message (the hub needs no catalogue of its own), and the answer carries one answer code per question.
 */
const code = z.string().regex(/^[a-z0-9_]{1,40}$/, 'a lower-case code such as same or much_worse');

export const checkinQuestionSchema = z.object({
  /** The question's code in the questionnaire (the answer names it). */
  id: code,
  text: z.string().min(1).max(300),
  answers: z.array(z.object({ code, text: z.string().min(1).max(120) })).min(2).max(8),
});
export type CheckinQuestion = z.output<typeof checkinQuestionSchema>;

export const checkinQuestionnaireWireSchema = z.object({
  id: code,
  title: z.string().min(1).max(120),
  questions: z.array(checkinQuestionSchema).min(1).max(12),
});

/** The hub's answers to one check-in: each question of it at most once; one left out was not answered. */
export const checkinAnswersSchema = z
  .array(z.object({ question: code, answer: code }))
  .min(1)
  .max(12)
  .refine((as) => new Set(as.map((a) => a.question)).size === as.length, { message: 'each question at most once' });
export type CheckinAnswer = z.output<typeof checkinAnswersSchema>[number];
