import { z } from 'zod';
import { MEDICATION_CLASSES } from '../../domain/index.js';
import { common, severitySchema, whereSchema } from './parts.js';

/**
 * Medication adherence together with the reading the medication treats: missed doses of one class over a
 * window (the care loop counts them: no answer by the end of a dose window) and a rising home average of a
 * field (the mean of daily means over the window against the window before). Either alone is not this alert:
 * missed doses with a controlled BP are the adherence figure's to show, a rising BP alone the home BP rule's.
 */
export const adherenceBpRuleSchema = z.object({
  ...common,
  kind: z.literal('adherence_bp'),
  readingType: z.literal('blood_pressure'),
  where: whereSchema,
  /** Doses of medications of this class count (`vigil plans add-medication --class`). */
  medicationClass: z.enum(MEDICATION_CLASSES),
  /** At least this many missed doses within the last `windowDays` local days (today included). */
  missedDoses: z.number().int().min(1).max(100),
  windowDays: z.number().int().min(2).max(30),
  field: z.enum(['systolic', 'diastolic']),
  /** The mean of the window's daily means at least this much above the window before's, in mmHg. */
  riseMmHg: z.number().positive().max(60),
  /** Days with a reading needed in each window before a rise means anything. */
  minDays: z.number().int().min(1).max(30),
  severity: severitySchema,
  /** With the doses still missed, the alert stays open until the rise is this much below `riseMmHg`. */
  clearMarginMmHg: z.number().min(0).max(30),
});

export type AdherenceBpRule = z.output<typeof adherenceBpRuleSchema>;
