import { z } from 'zod';

/** A report's figure against its published target: "time in range > 70 %". */
export const reportTargetSchema = z
  .object({
    id: z.string(),
    label: z.string(),
    value: z.number().nullable().describe('the figure; null when there is nothing to compute it from'),
    unit: z.string(),
    op: z.enum(['<', '<=', '>', '>=']),
    limit: z.number(),
    met: z.boolean().nullable().describe('whether the figure meets the target; null without a figure'),
    source: z.string(),
  })
  .meta({ id: 'ReportTarget' });
export type ReportTarget = z.output<typeof reportTargetSchema>;

const periodShape = {
  patientId: z.string(),
  timeZone: z.string().describe("the patient's IANA time zone; days and times of day are local to it"),
  from: z.number().describe('start of the period, epoch ms (inclusive)'),
  to: z.number().describe('end of the period, epoch ms (exclusive)'),
  days: z.number().int(),
};

/** One band of the ambulatory glucose profile: percentiles of the readings taken in that time of day. */
export const agpBinSchema = z.object({
  minute: z.number().int().describe('start of the bin, minutes after local midnight'),
  count: z.number().int(),
  p5: z.number().nullable(),
  p25: z.number().nullable(),
  p50: z.number().nullable(),
  p75: z.number().nullable(),
  p95: z.number().nullable(),
});
export type AgpBin = z.output<typeof agpBinSchema>;

export const glucoseReportSchema = z
  .object({
    ...periodShape,
    source: z.enum(['cgm', 'meter', 'none']).describe('CGM when the period has sensor readings, else meter readings'),
    readings: z.number().int(),
    ranges: z.array(
      z.object({
        id: z.enum(['very_low', 'low', 'in_range', 'high', 'very_high']),
        label: z.string(),
        count: z.number().int(),
        percent: z.number().nullable(),
      }),
    ),
    meanMgdl: z.number().nullable(),
    sdMgdl: z.number().nullable(),
    gmiPercent: z.number().nullable(),
    targets: z.array(reportTargetSchema).describe('time in ranges, CV and (CGM) wear against the consensus targets'),
    wear: z
      .object({ percent: z.number(), intervalMinutes: z.number(), expected: z.number().int() })
      .nullable()
      .describe('CGM wear: readings as a share of those the sensor would send in the period; null for a meter'),
    agp: z
      .object({ binMinutes: z.number().int(), bins: z.array(agpBinSchema) })
      .nullable()
      .describe('ambulatory glucose profile by local time of day (CGM only)'),
  })
  .meta({ id: 'GlucoseReport' });
export type GlucoseReport = z.output<typeof glucoseReportSchema>;

export const homeBpReportSchema = z
  .object({
    ...periodShape,
    readings: z.number().int(),
    protocol: z
      .object({
        days: z.number().int().describe('days counted (day 1 of monitoring discarded)'),
        sessions: z.number().int(),
        systolic: z.number().nullable(),
        diastolic: z.number().nullable(),
        enoughDays: z.boolean().describe('at least the minimum days (3) for the average to mean anything'),
        discardedDay: z.string().nullable().describe('the discarded first day of monitoring, YYYY-MM-DD local'),
      })
      .describe('the 7-day morning/evening protocol average over the last 7 local days'),
    category: z.enum(['hypertension', 'high_normal', 'below', 'unknown']),
    categoryLabel: z.string(),
    aboveTarget: z.object({ count: z.number().int(), percent: z.number().nullable(), systolic: z.number(), diastolic: z.number() }),
    weeks: z.array(
      z.object({ from: z.number(), readings: z.number().int(), systolic: z.number().nullable(), diastolic: z.number().nullable() }),
    ),
  })
  .meta({ id: 'HomeBpReport' });
export type HomeBpReport = z.output<typeof homeBpReportSchema>;
