import { z } from 'zod';
import { addDays, localDate, localMinuteOfDay, READING_TYPES, startOfLocalDay, type Programme, type ReadingType } from '../domain/index.js';
import { localHourStarts } from './local-hours.js';

const HOUR = 3_600_000;
const MINUTE = 60_000;

/** A local wall-clock time, "08:00" (24-hour). */
export const timeOfDaySchema = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'a local time of day such as 08:00 or 20:30');

/**
 * One planned measurement. Either at local times of day (each a slot: a reading within `windowMinutes` either
 * side of it meets it) or continuous (a CGM: each local clock hour is a slot, met by any reading in it).
 */
export const plannedMeasurementSchema = z
  .object({
    type: z.enum(READING_TYPES),
    times: z.array(timeOfDaySchema).max(12).default([]),
    continuous: z.boolean().default(false),
    windowMinutes: z.number().int().min(5).max(360).default(60),
    /** Planned measurements missed in a row before the missing-data rule raises its alert. */
    alertAfterMissed: z.number().int().min(1).max(28).default(2),
  })
  .refine((m) => m.continuous !== m.times.length > 0, { message: 'a planned measurement has times of day, or is continuous (not both)' });
export type PlannedMeasurement = z.output<typeof plannedMeasurementSchema>;

export const measurementsSchema = z
  .array(plannedMeasurementSchema)
  .max(16)
  .refine((ms) => new Set(ms.map((m) => `${m.type}|${m.continuous}`)).size === ms.length, { message: 'each measurement (and continuous or not) at most once' });

export const PLAN_TEMPLATES = ['hypertension', 'diabetes', 'heart_failure', 'copd', 'custom'] as const;
export type PlanTemplate = (typeof PLAN_TEMPLATES)[number];

const at = (type: ReadingType, times: string[], windowMinutes = 60): PlannedMeasurement => ({ type, times, continuous: false, windowMinutes, alertAfterMissed: 2 });

/**
 * Starting points, edited per patient. Hypertension: AHA 2019 home BP monitoring (morning and evening). Heart
 * failure: HFSA/AHA self-care (weight every morning, after voiding, before breakfast) and BP. Diabetes: CGM worn
 * continuously (International Consensus on CGM, Danne 2017). COPD: a daily oximetry check (Vigil default).
 */
export const TEMPLATE_MEASUREMENTS: Readonly<Record<Programme, PlannedMeasurement[]>> = {
  hypertension: [at('blood_pressure', ['08:00', '20:00'])],
  diabetes: [{ type: 'glucose', times: [], continuous: true, windowMinutes: 60, alertAfterMissed: 2 }],
  heart_failure: [at('weight', ['07:30'], 90), at('blood_pressure', ['08:00', '20:00'])],
  copd: [at('spo2', ['09:00'], 120)],
};

export interface CarePlan {
  readonly patientId: string;
  readonly template: PlanTemplate;
  readonly measurements: PlannedMeasurement[];
  readonly createdAt: number;
  readonly updatedAt: number;
  readonly updatedBy: string;
}

/** The instant of a local wall-clock time on a local date (on a DST change day, the wall time as the clock shows it). */
export function localInstant(date: string, time: string, timeZone: string): number {
  const minutes = Number(time.slice(0, 2)) * 60 + Number(time.slice(3, 5));
  let t = startOfLocalDay(date, timeZone) + minutes * MINUTE;
  // A 23- or 25-hour day moves the wall clock by the shift: correct once by what the clock shows.
  const shown = localMinuteOfDay(t, timeZone);
  if (shown !== minutes) t += (minutes - shown) * MINUTE;
  return t;
}

/** A planned moment: a reading in [from, to) meets it. */
export interface Slot {
  readonly dueAt: number;
  readonly from: number;
  readonly to: number;
}

/** The slots of a planned measurement whose windows start in [from, to), in time order. */
export function slotsBetween(m: PlannedMeasurement, timeZone: string, from: number, to: number): Slot[] {
  if (to <= from) return [];
  if (m.continuous) {
    // The patient's local clock hours (a half-hour-offset zone's hours are not UTC's).
    return localHourStarts(from, to, timeZone).map((t) => ({ dueAt: t, from: t, to: t + HOUR }));
  }
  const w = m.windowMinutes * MINUTE;
  const slots: Slot[] = [];
  // A window can start the local day before its slot (a 00:30 slot with a 60-minute window).
  for (let date = addDays(localDate(from, timeZone), -1); ; date = addDays(date, 1)) {
    const dayStart = startOfLocalDay(date, timeZone);
    if (dayStart - w >= to) break;
    for (const time of [...m.times].sort()) {
      const dueAt = localInstant(date, time, timeZone);
      if (dueAt - w >= from && dueAt - w < to) slots.push({ dueAt, from: dueAt - w, to: dueAt + w });
    }
  }
  return slots;
}

/**
 * Planned measurements missed in a row since `since` (the last reading, or the start of the count): slots whose
 * whole window lies after it and has closed by `now`. The missing-data rule and the adherence figure count the
 * same slots, so an alert for N missed measurements always matches N misses in the adherence.
 */
export function missedSince(m: PlannedMeasurement, timeZone: string, since: number, now: number): number {
  return slotsBetween(m, timeZone, since + 1, now).filter((s) => s.to <= now).length;
}
