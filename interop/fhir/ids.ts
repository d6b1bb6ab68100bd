import { createHash } from 'node:crypto';
import { entityIdSchema } from '../../domain/index.js';

/**
 * FHIR ids are `[A-Za-z0-9\-\.]{1,64}` (R4 datatypes, id); Vigil's patient and device ids are letters, digits,
 * `_` and `-`, at most 64. `_` becomes `.` (which Vigil ids never hold), so the mapping is one-to-one both ways
 * and a Vigil id keeps its length.
 */
export function toFhirId(vigilId: string): string {
  return vigilId.replaceAll('_', '.');
}

/** The Vigil id of a FHIR id, or undefined when it cannot be one (the caller answers 404). */
export function fromFhirId(fhirId: string): string | undefined {
  const id = fhirId.replaceAll('.', '_');
  return entityIdSchema.safeParse(id).success ? id : undefined;
}

/**
 * An Observation's id: a digest of the stored reading (patient, device, type, time of measurement and its values),
 * so the same reading has the same id in every search and export, without a table of ids. The values are in it
 * because the stores keep two readings of one device and type in the same millisecond apart (their message ids
 * differ, docs/architecture.md), and those must not share an id.
 */
export function observationId(patientId: string, deviceId: string, type: string, time: number, fields: Readonly<Record<string, number>>): string {
  const values = Object.keys(fields)
    .sort()
    .map((k) => `${k}=${fields[k]}`)
    .join(',');
  return createHash('sha256').update(`${patientId}|${deviceId}|${type}|${time}|${values}`).digest('hex').slice(0, 40);
}

/** A Flag's id: the alert's number. */
export function flagId(alertId: number): string {
  return `alert-${alertId}`;
}
