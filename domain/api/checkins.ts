import { z } from 'zod';

/** Symptom check-ins on the API (docs/checkins.md; the patient page's check-in panel reads them). */
export const plannedCheckinApiSchema = z
  .object({
    questionnaire: z.string().describe('hf_daily or copd_daily'),
    times: z.array(z.string()).describe('local times of day in the patient\'s time zone, "08:30"'),
    days: z.array(z.string()).describe('local days of the week: sun, mon, ... sat'),
    windowMinutes: z.number().describe('how long after its time the check-in waits for the patient (it expires then)'),
  })
  .meta({ id: 'PlannedCheckin' });

export const checkinPlanSchema = z
  .object({ checkins: z.array(plannedCheckinApiSchema), createdAt: z.number(), updatedAt: z.number(), updatedBy: z.string() })
  .meta({ id: 'CheckinPlan' });

const codingSchema = z.object({ system: z.string(), code: z.string(), display: z.string() });

export const questionnaireSchema = z
  .object({
    id: z.string(),
    title: z.string(),
    source: z.string(),
    items: z.array(
      z.object({
        id: z.string(),
        text: z.string(),
        code: codingSchema.describe('the concept the answer observes: LOINC or SNOMED CT where one fits, else urn:vigil:checkin-item'),
        answers: z.array(z.object({ code: z.string(), text: z.string(), score: z.number().describe('0 usual or none; higher is worse') })),
      }),
    ),
  })
  .meta({ id: 'Questionnaire' });

export const checkinObservationSchema = z
  .object({
    inboxId: z.string().describe('the check-in answered'),
    questionnaire: z.string(),
    question: z.string(),
    answer: z.string(),
    score: z.number(),
    codeSystem: z.string(),
    code: z.string(),
    at: z.number().describe('when the patient answered (epoch ms)'),
    recordedAt: z.number(),
  })
  .meta({ id: 'CheckinObservation' });

export const patientCheckinsSchema = z
  .object({
    patientId: z.string(),
    timeZone: z.string(),
    plan: checkinPlanSchema.nullable(),
    templates: z.record(z.string(), z.array(plannedCheckinApiSchema)).describe("each programme's starting check-ins"),
    questionnaires: z.array(questionnaireSchema),
    answers: z.array(checkinObservationSchema).describe('answers in the period, oldest first'),
  })
  .meta({ id: 'PatientCheckins' });
export type PatientCheckins = z.output<typeof patientCheckinsSchema>;
export type CheckinObservationApi = z.output<typeof checkinObservationSchema>;
export type QuestionnaireApi = z.output<typeof questionnaireSchema>;
