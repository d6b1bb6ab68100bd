import { z } from 'zod';
import { alertSchema } from './alert.js';
import { deviceSchema } from './device.js';
import { patientSchema } from './patient.js';
import { latestReadingSchema } from './reading.js';
import { apiRuleSchema, rulePresetSchema, snoozeSchema, storedOverrideSchema, thresholdLineSchema } from './rule.js';

/** The rules as they apply to a patient, the patient's overrides and snoozes, and the presets on offer. */
export const patientRulesSchema = z
  .object({
    rules: z.array(apiRuleSchema).readonly(),
    overrides: z.array(storedOverrideSchema).readonly(),
    snoozes: z.array(snoozeSchema).readonly(),
    presets: z.array(rulePresetSchema).readonly(),
  })
  .meta({ id: 'PatientRules' });
export type PatientRules = z.output<typeof patientRulesSchema>;

/** A patient's page: devices, latest readings, rules and chart lines, overrides, snoozes and alert history. */
export const patientRecordSchema = patientRulesSchema
  .extend({
    patient: patientSchema,
    devices: z.array(deviceSchema),
    latest: z.array(latestReadingSchema),
    thresholds: z.array(thresholdLineSchema),
    alerts: z.array(alertSchema),
  })
  .meta({ id: 'PatientRecord' });
export type PatientRecord = z.output<typeof patientRecordSchema>;
