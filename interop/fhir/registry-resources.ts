import { toFhirId } from './ids.js';
import { VIGIL_DEVICE_ID, VIGIL_PATIENT_ID, type Resource } from './types.js';

/** What a Patient resource is built from (the dashboard's directory entry has these fields). */
export interface FhirPatientSource {
  readonly id: string;
  readonly name: string;
  readonly createdAt: number;
}

/** What a Device resource is built from. */
export interface FhirDeviceSource {
  readonly id: string;
  readonly patientId: string | null;
  readonly revokedAt: number | null;
  readonly firmware: string | null;
}

/**
 * A patient as Vigil knows them: its id as identifier and one name, as written (Vigil keeps a single display name,
 * so `HumanName.text`, not split into given and family). Vigil holds no birth date, sex or address, and invents none.
 */
export function toPatient(p: FhirPatientSource): Resource {
  return {
    resourceType: 'Patient',
    id: toFhirId(p.id),
    identifier: [{ system: VIGIL_PATIENT_ID, value: p.id }],
    active: true,
    name: [{ text: p.name }],
  };
}

/**
 * A device of the registry: `active` until revoked (`inactive` after: it can no longer log in), the patient it is
 * assigned to now, and the firmware its last status reported.
 */
export function toDevice(d: FhirDeviceSource): Resource {
  return {
    resourceType: 'Device',
    id: toFhirId(d.id),
    identifier: [{ system: VIGIL_DEVICE_ID, value: d.id }],
    status: d.revokedAt === null ? 'active' : 'inactive',
    ...(d.firmware ? { version: [{ type: { text: 'firmware' }, value: d.firmware }] } : {}),
    ...(d.patientId ? { patient: { reference: `Patient/${toFhirId(d.patientId)}` } } : {}),
  };
}
