export { RetentionSweep, type RetentionCounts, type RetentionSweepOptions } from './retention-sweep.js';
export { statePurges, type StatePurges } from './state-purges.js';
export { scheduleRetention } from './schedule.js';
export { RETENTION_KINDS, type RetentionKind, type RetentionPolicy } from './policy.js';
export type { RetentionReadings } from './stored-readings.js';
