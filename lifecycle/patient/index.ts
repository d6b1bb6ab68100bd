export { collectPatientExport, exportPatient, type PatientExport, type PatientExportManifest, type PatientExportOptions, type PatientExportSource } from './patient-export.js';
export { erasePatient, erasureStarted, eraseReplicatedPatient, REPLICA_ACTOR, type EarlierExport, type ErasureResult, type PatientEraseOptions } from './patient-erase.js';
export { erasurePseudonym } from './pseudonym.js';
export { PATIENT_TABLES, ALERT_CHILD_TABLES, KEPT_AFTER_ERASURE } from './patient-tables.js';
export { outboxHoldsReadings, withOutboxReadings } from './outbox-pending.js';
