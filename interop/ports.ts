import type { FastifyRequest } from 'fastify';
import type { Alert } from '../domain/index.js';
import type { ReadingStore } from '../ingest/index.js';
import type { ReportedSymptom } from './fhir/survey-observation.js';

/** A patient of the registry, as the FHIR side needs it. */
export interface InteropPatient {
  readonly id: string;
  readonly name: string;
  readonly careTeam: string | null;
  readonly createdAt: number;
}

export interface InteropDevice {
  readonly id: string;
  readonly patientId: string | null;
  readonly revokedAt: number | null;
  readonly firmware: string | null;
}

/** Where the FHIR resources come from: the registry, the reading store, the alerts. */
export interface InteropSources {
  readonly directory: {
    patient(id: string): InteropPatient | undefined;
    patients(): readonly InteropPatient[];
    devices(): readonly InteropDevice[];
  };
  readonly readings: Pick<ReadingStore, 'queryRaw'>;
  /**
   * One patient's readings as an export of them reads them: the store's, and those acknowledged but still in
   * the outbox on their way to it (each once). Absent, exports read the store alone.
   */
  readonly exportReadings?: ((patientId: string) => Promise<Pick<ReadingStore, 'queryRaw'>>) | undefined;
  readonly alerts: {
    list(filter: { readonly patientId: string; readonly limit: number }): Alert[];
    get(alertId: number): { readonly alert: Alert } | undefined;
  };
  /** Answers to symptom check-ins in [from, to) (the care loop); absent, the export has none. */
  readonly symptoms?: { reported(patientId: string, from: number, to: number): readonly ReportedSymptom[] } | undefined;
}

/**
 * Who asks, and the audit log, as the dashboard decides them (the same session cookie, bearer tokens, care-team
 * scoping and repeat-view rule as the JSON API): the FHIR routes never make these decisions on their own.
 */
export interface RequestAccess {
  /** The caller, or VIGIL_ERR_UNAUTHORIZED; remembered on the request for the calls below. */
  identify(request: FastifyRequest): Promise<{ readonly role: string }>;
  canSee(request: FastifyRequest, careTeam: string | null): boolean;
  /** Audits a view of patient data unless the same caller saw the same view within the repeat window. */
  auditView(request: FastifyRequest, action: string, patientId: string | null, target: string | null, view: string, details?: unknown): void;
  /** Audits an access to a patient outside the caller's care teams (null: a device assigned to nobody). */
  denied(request: FastifyRequest, patientId: string | null, target: string): void;
  /** Appends an entry every time (an export). */
  record(request: FastifyRequest, action: string, patientId: string | null, target: string | null, details?: unknown): void;
}
