import { READING_TYPES, VigilError, type Alert, type ReadingType } from '../../domain/index.js';
import type { RawPoint } from '../../ingest/index.js';
import { openEnd } from '../fhir/search-params.js';
import type { InteropPatient, InteropSources } from '../ports.js';

/** What a patient's export of a period holds, whatever its format. */
export interface PatientPeriod {
  readonly patient: InteropPatient;
  /** Inclusive start and exclusive end, epoch ms. */
  readonly from: number;
  readonly to: number;
  /** Every reading of every type measured in the period, oldest first. */
  readonly readings: readonly (RawPoint & { readonly type: ReadingType })[];
  /** Alerts whose findings or life overlap the period, in the order they opened. */
  readonly alerts: readonly Alert[];
}

/**
 * Gathers a patient's readings and alerts for a period (absent bounds: from the first reading, up to now). An
 * alert belongs to the period when its findings do: late data opens alerts about readings measured earlier.
 */
export async function patientPeriod(sources: InteropSources, patientId: string, bounds: { from?: number | undefined; to?: number | undefined }, now: number): Promise<PatientPeriod> {
  const from = bounds.from ?? 0;
  const to = bounds.to ?? openEnd(now);
  if (to <= from) throw new VigilError('VIGIL_ERR_BAD_REQUEST', 'the end of the period must be after its start');
  const patient = sources.directory.patient(patientId);
  if (!patient) throw new VigilError('VIGIL_ERR_NOT_FOUND', `patient ${patientId} does not exist`);
  const readings: (RawPoint & { type: ReadingType })[] = [];
  for (const type of READING_TYPES) {
    for (const p of await sources.readings.queryRaw({ patientId: patient.id, type, from, to })) readings.push({ ...p, type });
  }
  readings.sort((a, b) => a.time - b.time);
  const alerts = sources.alerts
    .list({ patientId: patient.id, limit: 100_000 })
    .filter((a) => Math.min(a.firstObservedAt, a.openedAt) < to && (a.resolvedAt === null || a.resolvedAt >= from))
    .sort((a, b) => a.openedAt - b.openedAt || a.id - b.id);
  return { patient, from, to, readings, alerts };
}
