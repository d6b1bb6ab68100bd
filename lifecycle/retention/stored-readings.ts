import type { SqliteStore } from '../../ingest/index.js';

/**
 * The embedded reading store as a retention run uses it: its purge, one batch of one patient, and every patient
 * it holds readings of (not the registry's: readings of a patient removed from the registry without an erasure,
 * or brought back by a restore, are kept no longer than anyone's). SqliteStore is one; InfluxDB applies its own
 * retention policy.
 */
export type RetentionReadings = Pick<SqliteStore, 'purgeBefore' | 'patientIds'>;
