import type { Severity } from './rules/schema.js';
import type { Alert as AlertShape, AlertEvent as AlertEventShape, AlertStatus } from '../domain/index.js';

export type { AlertChange, AlertEventType, AlertStatus, RenotifyReason } from '../domain/index.js';

/** An alert: its fields, and what each means, are its wire schema's (domain/api/alert.ts). */
export type Alert = Readonly<AlertShape>;

/** One transition of an alert (domain/api/alert.ts). */
export type AlertEvent = Readonly<AlertEventShape>;

export interface AlertFilter {
  readonly status?: AlertStatus | 'live' | undefined;
  readonly severity?: Severity | undefined;
  readonly patientId?: string | undefined;
  /** Only these patients (a clinician's care teams): filtered in SQL, not after loading every alert. */
  readonly patientIds?: readonly string[] | undefined;
  readonly limit?: number | undefined;
}
