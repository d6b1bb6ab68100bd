/**
 * Every table of the state database that holds rows about one patient, by the column naming them. The
 * export reads them all and the erasure empties them all (a test checks this list against the schema, so a
 * table added later cannot be forgotten). `audit_log` is not here on purpose: see `patient-erase.ts`.
 */
export const PATIENT_TABLES = {
  patients: 'id',
  patient_programmes: 'patient_id',
  devices: 'patient_id',
  alerts: 'patient_id',
  alert_snoozes: 'patient_id',
  rule_overrides: 'patient_id',
  last_readings: 'patient_id',
  latest_readings: 'patient_id',
  rejections: 'patient_id',
  dead_letters: 'patient_id',
  care_plans: 'patient_id',
  care_medications: 'patient_id',
  care_inbox: 'patient_id',
  care_messages: 'patient_id',
  care_education: 'patient_id',
  care_checkin_plans: 'patient_id',
  care_checkin_answers: 'patient_id',
  alert_findings_waiting: 'patient_id',
} as const;

/** Tables reached through a patient's alerts. */
export const ALERT_CHILD_TABLES = ['alert_events', 'webhook_parked'] as const;

/** Tables that name a patient and keep the rows after an erasure, with the reason (docs/security.md). */
export const KEPT_AFTER_ERASURE = { audit_log: 'HIPAA: audit records are kept six years (45 CFR 164.316(b)(2)(i)); they hold the pseudonymous id, never the name' } as const;
