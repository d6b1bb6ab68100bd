import { z } from 'zod';

/** One patient's line of the programme report (docs/reports.md). */
export const programmeRowSchema = z
  .object({
    patientId: z.string(),
    name: z.string(),
    careTeam: z.string().nullable(),
    timeZone: z.string().describe("the patient's IANA time zone; days are local to it"),
    monitoringFrom: z.string().describe('first local day of monitoring (earliest programme enrolment, else registration), YYYY-MM-DD'),
    period: z
      .object({
        index: z.number().int().describe('1 for the first 30 days of monitoring, 2 for the next 30, ...'),
        from: z.string().describe('first local day of the current 30-day period'),
        to: z.string().describe('last local day of the period (inclusive)'),
        elapsedDays: z.number().int().describe('days of the period up to today, today included'),
        remainingDays: z.number().int(),
      })
      .describe('the current 30-day period, back to back from the first day of monitoring'),
    daysWithReadings: z.number().int().describe('distinct local days of the period with at least one device reading'),
    dates: z.array(z.string()).describe('those days, YYYY-MM-DD'),
    code: z.enum(['99454', '99445']).nullable().describe('the CMS 2026 device-supply code the days reach: 99454 at 16-30 days, 99445 at 2-15, none below 2'),
    can16: z.boolean().describe('16 days can still be reached in this period (days so far + days left >= 16)'),
    alerts: z
      .object({
        acknowledged: z.number().int().describe('alerts a person acknowledged in the period'),
        resolvedByPerson: z.number().int().describe('alerts a person resolved in the period (not those Vigil closed back in range)'),
        notes: z.number().int().describe('acknowledgement and resolution notes people wrote with them'),
        handled: z.number().int().describe('alerts both acknowledged and resolved by people in the period'),
        elapsedMinutes: z.number().describe('elapsed minutes from acknowledgement to resolution of those alerts: time in hand, not time spent (Vigil does not time work)'),
      })
      .describe('alert work documented in the alert lifecycle in the period'),
  })
  .meta({ id: 'ProgrammeRow' });
export type ProgrammeRow = z.output<typeof programmeRowSchema>;

export const programmeReportSchema = z
  .object({
    generatedAt: z.number(),
    sort: z.string(),
    rows: z.array(programmeRowSchema),
    source: z.string(),
  })
  .meta({ id: 'ProgrammeReport' });
export type ProgrammeReport = z.output<typeof programmeReportSchema>;
