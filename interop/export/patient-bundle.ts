import { READING_TYPES, VigilError } from '../../domain/index.js';
import { collection } from '../fhir/bundle.js';
import { toFlag } from '../fhir/flag.js';
import { toObservation } from '../fhir/observation.js';
import { toDevice, toPatient } from '../fhir/registry-resources.js';
import { openEnd } from '../fhir/search-params.js';
import type { Bundle, Resource } from '../fhir/types.js';
import type { InteropSources } from '../ports.js';

/**
 * The most readings one export holds: about two years of 5-minute CGM. The Bundle is built in memory and sent
 * whole, so an export of everything a patient ever sent (ten years of CGM is a million readings, over a gigabyte
 * of JSON) would take the server's memory with it: a longer history is exported period by period.
 */
export const MAX_EXPORT_READINGS = 250_000;

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
 * type), and a Flag per alert whose findings or life overlap the period. Audited as `patient.export` before it is returned.
 */
export async function fhirPatientExport(o: FhirExportSource): Promise<Bundle> {
  const now = (o.now ?? Date.now)();
  const from = o.from ?? 0;
  const to = o.to ?? openEnd(now);
  if (to <= from) throw new VigilError('VIGIL_ERR_BAD_REQUEST', 'the end of the period must be after its start');
  const patient = o.sources.directory.patient(o.patientId);
  if (!patient) throw new VigilError('VIGIL_ERR_NOT_FOUND', `patient ${o.patientId} does not exist`);
  const observations: { time: number; resource: Resource }[] = [];
  const deviceIds = new Set<string>();
  const max = o.maxReadings ?? MAX_EXPORT_READINGS;
  for (const type of READING_TYPES) {
    // One more than the room left tells that the period holds too many, without reading all of them.
    const points = await o.sources.readings.queryRaw({ patientId: patient.id, type, from, to, limit: max - observations.length + 1 });
    if (observations.length + points.length > max) {
      throw new VigilError('VIGIL_ERR_BAD_REQUEST', `the period holds more than ${max} readings: export it in shorter periods (from, to)`);
    }
    for (const p of points) {
      deviceIds.add(p.deviceId);
      observations.push({ time: p.time, resource: toObservation({ patientId: patient.id, type, ...p }) });
    }
  }
  observations.sort((a, b) => a.time - b.time);
  const devices = o.sources.directory.devices().filter((d) => d.patientId === patient.id || deviceIds.has(d.id));
  const flags = o.sources.alerts
    .list({ patientId: patient.id, limit: 100_000 })
    // An alert belongs to the period when its findings do: late data opens alerts about readings measured earlier.
    .filter((a) => Math.min(a.firstObservedAt, a.openedAt) < to && (a.resolvedAt === null || a.resolvedAt >= from))
    .sort((a, b) => a.openedAt - b.openedAt || a.id - b.id)
    .map(toFlag);
  const resources = [toPatient(patient), ...devices.sort((a, b) => a.id.localeCompare(b.id)).map(toDevice), ...observations.map((x) => x.resource), ...flags];
  o.audit({ format: 'fhir', from: new Date(from).toISOString(), to: new Date(to).toISOString(), entries: resources.length });
  return collection(o.base, resources, now);
}
