import { z } from 'zod';
import type { ReadingType } from './reading-types.js';

/**
 * Wire format v1 (docs/device-protocol.md "Reading payload"): what a device publishes on its readings topic. Unknown extra
 * fields are ignored so that devices with newer firmware keep working; every field Vigil uses is validated.
 */
const common = {
  // RFC 3339 with an explicit offset: a local time without an offset cannot be placed on the timeline.
  time: z.iso.datetime({ offset: true, local: false }),
  id: z.string().min(1).max(64).optional(),
};

export const bloodPressureWire = z.object({
  type: z.literal('blood_pressure'),
  ...common,
  systolic: z.number(),
  diastolic: z.number(),
  unit: z.enum(['mmHg', 'kPa']).default('mmHg'),
  pulse: z.number().optional(),
  irregularHeartbeat: z.boolean().optional(),
});

export const glucoseWire = z
  .object({
    type: z.literal('glucose'),
    ...common,
    /** Required unless `flag` is given. */
    value: z.number().optional(),
    /** Required with `value` or `trendRate`. */
    unit: z.enum(['mg/dL', 'mmol/L']).optional(),
    /**
     * The meter showed HI (above its measuring range, usually over 600 mg/dL) or LO (below it, usually under
     * 20 mg/dL; CGMs: over 400 or under 40) instead of a number. docs/clinical-reference.md "Plausibility": "LO"/"HI" flags
     * are events, not numbers, so no value is made up for them.
     */
    flag: z.enum(['HI', 'LO']).optional(),
    source: z.enum(['meter', 'cgm']),
    mealContext: z.enum(['fasting', 'before_meal', 'after_meal', 'bedtime', 'random']).optional(),
    /** CGM rate of change, in the reading's unit per minute. */
    trendRate: z.number().min(-50).max(50).optional(),
    /** BLE Glucose Measurement (0x2A18) sample type; control solution is a meter check, not patient data. */
    sampleType: z.enum(['capillary_blood', 'venous_blood', 'interstitial_fluid', 'control_solution']).optional(),
  })
  .superRefine((g, ctx) => {
    if (g.value === undefined && g.flag === undefined) {
      ctx.addIssue({ code: 'custom', path: ['value'], message: 'a glucose reading needs a value with its unit, or a flag "HI" or "LO" when the meter shows one' });
    }
    if ((g.value !== undefined || g.trendRate !== undefined) && g.unit === undefined) {
      ctx.addIssue({ code: 'custom', path: ['unit'], message: 'the unit (mg/dL or mmol/L) is required with a value or a trend rate' });
    }
  });

export const weightWire = z.object({
  type: z.literal('weight'),
  ...common,
  value: z.number(),
  unit: z.enum(['kg', 'lb']),
});

export const spo2Wire = z.object({
  type: z.literal('spo2'),
  ...common,
  value: z.number(),
  pulse: z.number().optional(),
});

export const heartRateWire = z.object({
  type: z.literal('heart_rate'),
  ...common,
  value: z.number(),
});

export const temperatureWire = z.object({
  type: z.literal('temperature'),
  ...common,
  value: z.number(),
  unit: z.enum(['Cel', 'degF']),
});

export const stepsWire = z.object({
  type: z.literal('steps'),
  ...common,
  count: z.number().int().min(0),
  // At most a day per reading: longer periods hide the daily rhythm the activity rules need.
  periodSeconds: z.number().int().min(1).max(86_400),
});

export const fallWire = z.object({
  type: z.literal('fall'),
  ...common,
  confidence: z.number().optional(),
});

export const WIRE_SCHEMAS = {
  blood_pressure: bloodPressureWire,
  glucose: glucoseWire,
  weight: weightWire,
  spo2: spo2Wire,
  heart_rate: heartRateWire,
  temperature: temperatureWire,
  steps: stepsWire,
  fall: fallWire,
} as const satisfies Record<ReadingType, z.ZodType>;

export const wireReadingSchema = z.discriminatedUnion('type', [
  bloodPressureWire,
  glucoseWire,
  weightWire,
  spo2Wire,
  heartRateWire,
  temperatureWire,
  stepsWire,
  fallWire,
]);

/** A reading as a device sends it (input side: optional defaults may be absent). */
export type WireReadingInput = z.input<typeof wireReadingSchema>;
/** A reading after schema validation (defaults applied). */
export type WireReading = z.output<typeof wireReadingSchema>;

/**
 * The largest status payload accepted, in bytes. A status is a handful of fields (the largest legitimate one,
 * with a firmware string of 64 characters and a warm-up time, is under 200 bytes); anything bigger is refused
 * before it is parsed.
 */
export const MAX_STATUS_BYTES = 1024;

/**
 * The status message a device (or its last will) publishes. Vigil records it in the registry; the broker never
 * retains it (a retained message stays in broker memory for as long as the broker runs). Unknown keys are
 * dropped, not stored, as for readings, so that newer firmware keeps working; MAX_STATUS_BYTES bounds them.
 */
export const deviceStatusSchema = z.object({
  online: z.boolean(),
  battery: z.number().min(0).max(100).optional(),
  firmware: z.string().max(64).optional(),
  /**
   * The sensor warms up until this time and sends no readings before it (a CGM after insertion): data rules
   * wait for it instead of reporting missing data. RFC 3339 with an offset, like a reading's time.
   */
  warmUpUntil: z.iso.datetime({ offset: true, local: false }).optional(),
});
export type DeviceStatus = z.infer<typeof deviceStatusSchema>;

/**
 * The furthest ahead a declared warm-up may end. The longest in use is the implanted Eversense CGM's, 24 h
 * after insertion (Dexcom G6 2 h, G7 30 min, FreeStyle Libre 2 1 h); twice that leaves room for a late status.
 * Beyond it the value is a device error, and believing it would silence the sensor's data rules for days.
 */
export const MAX_WARM_UP_AHEAD_MS = 48 * 3_600_000;

/** What the gateway publishes on a device's errors topic for each rejected reading. */
export interface DeviceErrorMessage {
  /** The reading's `id`, or its index in the published array ("0" for a single reading). */
  readonly ref: string;
  readonly code: string;
  readonly message: string;
}
