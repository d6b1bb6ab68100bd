import cron from 'node-cron';
import { VigilError } from '../domain/index.js';
import { CareLoop, type CareLoopOptions } from './care-loop.js';

export { CARELOOP_MIGRATIONS } from './migrations.js';
export { CareLoop, MESSAGE_TTL_MS, type CareDirectory, type CareReadings, type InboxSender, type MeasurementAdherence, type MedicationAdherence, type PlannedExpectation } from './care-loop.js';
export type { CarePlan, PlannedMeasurement, PlanTemplate } from './plan.js';
export { PLAN_TEMPLATES, TEMPLATE_MEASUREMENTS, measurementsSchema, plannedMeasurementSchema, timeOfDaySchema } from './plan.js';
export { medicationInputSchema, type Medication, type MedicationInput } from './medications.js';
export type { CareMessage } from './messages.js';
export { educationInputSchema, MAX_ITEMS_PER_TARGET, type EducationInput, type EducationItem } from './education.js';
export { Inbox, type InboxEntry, type DoseAnswer } from './inbox.js';
export { Checkins, type CheckinObservation } from './checkins.js';
export { CheckinPlans, plannedCheckinSchema, plannedCheckinsSchema, templateCheckins, WEEKDAYS, type CheckinPlan, type PlannedCheckin, type Weekday } from './checkin-plan.js';
export { CHECKIN_ITEM_SYSTEM, QUESTIONNAIRE_IDS, QUESTIONNAIRES, questionnaireWire, TEMPLATE_CHECKINS, type CheckinItem, type Questionnaire, type QuestionnaireId } from './checkin-questionnaires.js';

/**
 * The care loop with its schedule: a node-cron task runs a tick (reminders due, doses missed, unsent retried).
 * Ready when it returns; `close()` stops the schedule and waits for a tick in progress.
 */
export function createCareLoop(options: CareLoopOptions & { readonly cron: string }) {
  if (!cron.validate(options.cron)) throw new VigilError('VIGIL_ERR_CONFIG', `VIGIL_CARE_CRON: "${options.cron}" is not a cron expression`);
  const loop = new CareLoop(options);
  let running: Promise<unknown> = Promise.resolve();
  const task = cron.schedule(
    options.cron,
    () => {
      running = loop.tick().catch((err: Error) => options.log.error({ err }, 'care loop tick failed'));
    },
    { name: 'vigil-care-loop', noOverlap: true },
  );
  return {
    loop,
    async close(): Promise<void> {
      await task.stop();
      await running;
    },
  };
}

export type CareLoopHandle = ReturnType<typeof createCareLoop>;
