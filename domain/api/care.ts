import { z } from 'zod';
import { MEDICATION_CLASSES } from '../medication-classes.js';
import { READING_TYPES } from '../reading-types.js';

/** The care loop's wire shapes (docs/hub-protocol.md; the patient page's care panel reads them). */
export const plannedMeasurementApiSchema = z
  .object({
    type: z.enum(READING_TYPES),
    times: z.array(z.string()).describe('local times of day in the patient\'s time zone, "08:00"'),
    continuous: z.boolean().describe('a continuous sensor (CGM): each hour of the patient\'s local clock is a slot'),
    windowMinutes: z.number().describe('a reading this many minutes either side of a planned time meets it'),
    alertAfterMissed: z.number().describe('planned measurements missed in a row before the missing-data alert'),
  })
  .meta({ id: 'PlannedMeasurement' });

export const carePlanSchema = z
  .object({
    template: z.string(),
    measurements: z.array(plannedMeasurementApiSchema),
    createdAt: z.number(),
    updatedAt: z.number(),
    updatedBy: z.string(),
  })
  .meta({ id: 'CarePlan' });

export const medicationSchema = z
  .object({
    id: z.string(),
    name: z.string(),
    dose: z.string(),
    times: z.array(z.string()),
    windowMinutes: z.number(),
    class: z.enum(MEDICATION_CLASSES).describe('what it treats, for rules that read adherence (docs/alerts.md)'),
    startedAt: z.number(),
    stoppedAt: z.number().nullable(),
  })
  .meta({ id: 'Medication' });

export const measurementAdherenceSchema = z
  .object({ type: z.enum(READING_TYPES), continuous: z.boolean(), planned: z.number(), arrived: z.number(), share: z.number().nullable() })
  .meta({ id: 'MeasurementAdherence' });

export const medicationAdherenceSchema = z
  .object({
    medicationId: z.string(),
    name: z.string(),
    dose: z.string(),
    taken: z.number(),
    skipped: z.number(),
    missed: z.number(),
    pending: z.number(),
    share: z.number().nullable().describe('taken / (taken + skipped + missed); null before a dose window closed'),
  })
  .meta({ id: 'MedicationAdherence' });

export const careMessageSchema = z
  .object({
    id: z.string(),
    direction: z.enum(['to_patient', 'from_patient']),
    text: z.string(),
    at: z.number(),
    author: z.string(),
    replyTo: z.string().nullable(),
    alertId: z.number().nullable(),
    measure: z.string().nullable(),
    deliveredAt: z.number().nullable().describe('the hub\'s delivery receipt (messages to the patient)'),
    readAt: z.number().nullable().describe('the hub\'s read receipt (messages to the patient)'),
  })
  .meta({ id: 'CareMessage' });

export const educationItemSchema = z
  .object({
    id: z.string(),
    attachTo: z.string().describe('"plan" (sent with every reminder) or an alert rule id (sent with a message about one of its alerts)'),
    title: z.string(),
    body: z.string(),
    link: z.string().nullable(),
    createdAt: z.number(),
    createdBy: z.string(),
  })
  .meta({ id: 'EducationItem' });
export type EducationItem = z.output<typeof educationItemSchema>;

export const patientCareSchema = z
  .object({
    patientId: z.string(),
    timeZone: z.string(),
    hub: z.object({ id: z.string(), online: z.boolean() }).nullable().describe('the patient\'s hub; null: none provisioned'),
    plan: carePlanSchema.nullable(),
    templates: z.record(z.string(), z.array(plannedMeasurementApiSchema)).describe('each programme\'s starting plan'),
    medications: z.array(medicationSchema),
    adherence: z.object({ days: z.number(), measurements: z.array(measurementAdherenceSchema), medications: z.array(medicationAdherenceSchema) }),
    messages: z.array(careMessageSchema),
    education: z.array(educationItemSchema).describe('education items for the hub, attached to the plan or to alert rules'),
  })
  .meta({ id: 'PatientCare' });
export type PatientCare = z.output<typeof patientCareSchema>;
export type CareMessage = z.output<typeof careMessageSchema>;
export type CarePlan = z.output<typeof carePlanSchema>;
export type PlannedMeasurement = z.output<typeof plannedMeasurementApiSchema>;
