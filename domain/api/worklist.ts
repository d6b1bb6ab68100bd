import { z } from 'zod';
import { ALERT_STATUSES } from './alert.js';
import { patientSchema } from './patient.js';
import { latestReadingSchema } from './reading.js';
import { riskScoreSchema } from './risk.js';
import { severitySchema } from './severity.js';

/** Why a patient is where they are in the worklist, most urgent first. */
export const ATTENTION = ['critical', 'warning', 'silent', 'info', 'ok'] as const;
export type Attention = (typeof ATTENTION)[number];

/** One patient's row of the worklist. */
export const worklistRowSchema = z
  .object({
    patient: patientSchema,
    attention: z.enum(ATTENTION),
    liveAlerts: z.object({ info: z.number().int(), warning: z.number().int(), critical: z.number().int() }).describe('live alerts by severity'),
    unacknowledged: z.number().int().describe('live alerts nobody has acknowledged yet'),
    topAlert: z
      .object({ id: z.number().int(), severity: severitySchema, title: z.string(), status: z.enum(ALERT_STATUSES), updatedAt: z.number() })
      .nullable()
      .describe('the most severe live alert, newest first among equals'),
    lastReadingAt: z.number().nullable(),
    latest: z
      .array(latestReadingSchema.pick({ type: true, time: true, fields: true }))
      .readonly()
      .describe("the three most recent types' latest readings"),
    risk: riskScoreSchema.describe('the home-vitals risk score: ranks patients within an attention group, never replaces an alert'),
  })
  .meta({ id: 'WorklistRow' });
export type WorklistRow = z.output<typeof worklistRowSchema>;

/** The worklist: patients ranked by what needs attention. */
export const worklistSchema = z
  .object({
    generatedAt: z.number(),
    lastSeq: z.number().int().describe('the alert feed position this list reflects: the live channel continues from it'),
    newerReadings: z
      .boolean()
      .describe('readings of patients in this list have arrived since it was ranked (at generatedAt, at most a second before): ask again for them'),
    teams: z.array(z.string()),
    entries: z.array(worklistRowSchema),
  })
  .meta({ id: 'Worklist' });
export type Worklist = z.output<typeof worklistSchema>;
