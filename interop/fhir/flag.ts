import type { Alert, Severity } from '../../domain/index.js';
import { flagId, toFhirId } from './ids.js';
import type { Resource } from './types.js';

// The standard extension for a flag's priority (hl7.org/fhir/R4/extension-flag-priority.html) and its codes.
const PRIORITY_EXTENSION = 'http://hl7.org/fhir/StructureDefinition/flag-priority';
const PRIORITY_CODES = 'http://terminology.hl7.org/CodeSystem/flag-priority-code';
const PRIORITY: Readonly<Record<Severity, { code: string; display: string }>> = {
  critical: { code: 'PH', display: 'High priority' },
  warning: { code: 'PM', display: 'Medium priority' },
  info: { code: 'PL', display: 'Low priority' },
};

/**
 * An alert as a Flag (docs/interop.md says why Flag and not DetectedIssue): `active` while open or acknowledged,
 * `inactive` once resolved; its period from opening to resolution; the rule's title and what was found as the
 * code's text; the severity as the flag-priority extension.
 */
export function toFlag(a: Alert): Resource {
  const priority = PRIORITY[a.severity];
  return {
    resourceType: 'Flag',
    id: flagId(a.id),
    extension: [{ url: PRIORITY_EXTENSION, valueCodeableConcept: { coding: [{ system: PRIORITY_CODES, ...priority }], text: a.severity } }],
    identifier: [{ system: 'urn:vigil:alert-id', value: String(a.id) }],
    status: a.status === 'resolved' ? 'inactive' : 'active',
    category: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/flag-category', code: 'clinical', display: 'Clinical' }] }],
    code: { text: `${a.title}: ${a.message}` },
    subject: { reference: `Patient/${toFhirId(a.patientId)}` },
    period: { start: new Date(a.openedAt).toISOString(), ...(a.resolvedAt === null ? {} : { end: new Date(a.resolvedAt).toISOString() }) },
  };
}
