import type { Resource } from './types.js';

interface Param {
  readonly name: string;
  readonly type: 'token' | 'reference' | 'date' | 'string';
  readonly documentation: string;
}

/** What each resource type answers: the interactions and search parameters the routes implement, nothing more. */
export const SERVED: readonly { type: string; read: boolean; profile?: readonly string[]; params: readonly Param[] }[] = [
  {
    type: 'Patient',
    read: true,
    params: [
      { name: '_id', type: 'token', documentation: 'the patient id' },
      { name: 'identifier', type: 'token', documentation: 'urn:vigil:patient-id|<id>, or the id alone' },
      { name: 'name', type: 'string', documentation: 'the start of the name or of one of its words, any case' },
    ],
  },
  {
    type: 'Observation',
    read: false,
    profile: ['bp', 'heartrate', 'oxygensat', 'bodyweight', 'bodytemp'].map((p) => `http://hl7.org/fhir/StructureDefinition/${p}`),
    params: [
      { name: 'patient', type: 'reference', documentation: 'required: the patient (id or Patient/<id>)' },
      { name: 'date', type: 'date', documentation: 'time of measurement; prefixes eq, ge, gt, le, lt; repeat to bound both ends' },
      { name: 'code', type: 'token', documentation: 'LOINC code, http://loinc.org|<code> or the code alone; commas for any of several' },
      { name: 'category', type: 'token', documentation: 'vital-signs, laboratory or activity' },
    ],
  },
  {
    type: 'Device',
    read: true,
    params: [{ name: 'patient', type: 'reference', documentation: 'the patient the device is assigned to' }],
  },
  {
    type: 'Flag',
    read: true,
    params: [
      { name: 'patient', type: 'reference', documentation: 'required: the patient' },
      { name: 'status', type: 'token', documentation: 'active (open or acknowledged alerts) or inactive (resolved)' },
    ],
  },
];

/**
 * The CapabilityStatement of `/fhir/metadata` (R4 RESTful server, JSON only): the resource types, interactions and
 * search parameters the routes serve, the security they need. Built from the same table the docs describe.
 */
export function capabilityStatement(base: string, version: string, now: number): Resource {
  return {
    resourceType: 'CapabilityStatement',
    status: 'active',
    date: new Date(now).toISOString(),
    publisher: 'Vigil',
    kind: 'instance',
    software: { name: 'Vigil', version },
    implementation: { description: 'Vigil remote patient monitoring gateway: readings, devices and alerts as FHIR R4', url: base },
    fhirVersion: '4.0.1',
    format: ['application/fhir+json', 'json'],
    rest: [
      {
        mode: 'server',
        documentation: 'Read-only. Searches are paged with _count (default 100, at most 1000) and the next/previous links; unknown parameters are refused with 400.',
        security: {
          cors: false,
          description:
            "Authorization: Bearer <personal API token> (created by an administrator: vigil users token add), or the dashboard's session cookie. Access follows the user's role and care teams; every read is audited.",
        },
        resource: SERVED.map((r) => ({
          type: r.type,
          ...(r.profile ? { supportedProfile: r.profile } : {}),
          interaction: [...(r.read ? [{ code: 'read' }] : []), { code: 'search-type' }],
          searchParam: r.params,
        })),
      },
    ],
  };
}
