import { z } from 'zod';

/** One local day of the heart-failure weight report. */
export const weightDaySchema = z.object({
  date: z.string().describe('local date, YYYY-MM-DD'),
  time: z.number().nullable().describe('when the morning weight was taken, epoch ms; null: no morning weight that day'),
  kg: z.number().nullable().describe('the first weight of the local morning, kg'),
  baselineKg: z.number().nullable().describe('the baseline the weight-gain rule judged this day against'),
  aboveBaselineKg: z.number().nullable().describe('kg minus baselineKg'),
  alert: z
    .object({
      windowDays: z.number().int().nullable().describe('the window that was exceeded, local days; null: the dry weight'),
      windowFrom: z.string().describe('first local day of that window (the day itself for the dry weight)'),
      riseKg: z.number(),
      limitKg: z.number(),
    })
    .nullable()
    .describe("the weight-gain rule's alert for this morning weight (the worst window past its limit), if any"),
});
export type WeightDay = z.output<typeof weightDaySchema>;

export const weightReportSchema = z
  .object({
    patientId: z.string(),
    timeZone: z.string().describe("the patient's IANA time zone; days and mornings are local to it"),
    from: z.number().describe('start of the period, epoch ms (inclusive)'),
    to: z.number().describe('end of the period, epoch ms (exclusive)'),
    days: z.number().int(),
    morning: z.object({ fromMinute: z.number().int(), toMinute: z.number().int() }).describe('a morning weight is the first one from fromMinute to before toMinute, local minutes after midnight'),
    dryWeightKg: z.number().nullable().describe("the care team's dry weight (the patient's weight.gain override), if set"),
    baseline: z
      .object({ kg: z.number().nullable(), source: z.enum(['dry_weight', 'median', 'lowest_in_window', 'none']), label: z.string() })
      .describe('the baseline as of the last day of the period'),
    windows: z.array(z.object({ days: z.number().int(), riseKg: z.number() })).describe('the weight-gain windows of the rule as it applies to the patient'),
    ruleEnabled: z.boolean().describe('whether the weight-gain alert is on for this patient (the report measures either way)'),
    weighedDays: z.number().int().describe('local days of the period with a morning weight'),
    alertDays: z.number().int().describe('local days whose morning weight was past a window'),
    latest: z.object({ date: z.string(), kg: z.number(), aboveBaselineKg: z.number().nullable() }).nullable(),
    daily: z.array(weightDaySchema).describe('every local day of the period, oldest first'),
    source: z.string(),
  })
  .meta({ id: 'WeightReport' });
export type WeightReport = z.output<typeof weightReportSchema>;
