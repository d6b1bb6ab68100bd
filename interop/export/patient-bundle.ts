import { collection } from '../fhir/bundle.js';
import { toFlag } from '../fhir/flag.js';
import { toObservation } from '../fhir/observation.js';
import { toDevice, toPatient } from '../fhir/registry-resources.js';
import { toSurveyObservation } from '../fhir/survey-observation.js';
import type { Bundle } from '../fhir/types.js';
import type { InteropSources } from '../ports.js';
import { patientPeriod } from './patient-period.js';

export { MAX_EXPORT_READINGS } from './patient-period.js';

export interface FhirExportSource {
  readonly sources: InteropSources;
  readonly patientId: string;
  /** Inclusive start and exclusive end of the period, epoch ms; absent, from the first reading and up to now. */
  readonly from?: number | undefined;
  readonly to?: number | undefined;
  /** The FHIR base URL the entries' fullUrls are under. */
  readonly base: string;
  /** Appends the `patient.export` audit entry (the API and the CLI know who asks, and from where). */
  readonly audit: (details: { format: 'fhir'; from: string; to: string; entries: number }) => void;
  readonly now?: () => number;
  /** At most this many readings (default MAX_EXPORT_READINGS); more is refused (400) before any is built. */
  readonly maxReadings?: number;
}

/**
 * A patient's readings and alerts for a period as one FHIR R4 `collection` Bundle: the Patient, the Devices that
 * measured the readings or are assigned to the patient now, one Observation per reading (oldest first, every
 * type), one survey Observation per check-in answer, and a Flag per alert whose findings or life overlap the period. Audited as `patient.export` before it is returned.
 */
export async function fhirPatientExport(o: FhirExportSource): Promise<Bundle> {
  const now = (o.now ?? Date.now)();
  const period = await patientPeriod(o.sources, o.patientId, o, now, o.maxReadings);
  const { patient } = period;
  const deviceIds = new Set(period.readings.map((r) => r.deviceId));
  const observations = period.readings.map((r) => toObservation({ patientId: patient.id, ...r }));
  const devices = o.sources.directory.devices().filter((d) => d.patientId === patient.id || deviceIds.has(d.id));
  // Symptom check-in answers: patient-reported Observations of category survey (docs/checkins.md).
  const reported = (o.sources.symptoms?.reported(patient.id, period.from, period.to) ?? []).map(toSurveyObservation);
  const resources = [toPatient(patient), ...devices.sort((a, b) => a.id.localeCompare(b.id)).map(toDevice), ...observations, ...reported, ...period.alerts.map(toFlag)];
  o.audit({ format: 'fhir', from: new Date(period.from).toISOString(), to: new Date(period.to).toISOString(), entries: resources.length });
  return collection(o.base, resources, now);
}
