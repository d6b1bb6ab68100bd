import { z } from 'zod';
import { READING_TYPES } from '../reading-types.js';

const fieldValues = z.record(z.string(), z.number()).describe('values in stored units, by field');

/** A patient's latest reading of one type (worklist, patient record, live channel). */
export const latestReadingSchema = z
  .object({
    type: z.enum(READING_TYPES),
    time: z.number().describe('time of measurement, epoch milliseconds'),
    deviceId: z.string(),
    fields: fieldValues,
    tags: z.record(z.string(), z.string()),
  })
  .meta({ id: 'LatestReading' });
export type LatestReading = z.output<typeof latestReadingSchema>;

/** Readings of one type over a range: raw points (bucketMs null, mean = min = max) or per-bucket aggregates. */
export const seriesSchema = z
  .object({
    type: z.enum(READING_TYPES),
    fields: z.array(z.string()).readonly(),
    bucketMs: z.number().nullable(),
    points: z.array(
      z.object({
        time: z.number(),
        mean: fieldValues,
        min: fieldValues,
        max: fieldValues,
        count: z.number().int(),
      }),
    ),
  })
  .meta({ id: 'Series' });
export type Series = z.output<typeof seriesSchema>;
