import type { FastifyRequest } from 'fastify';
import { VigilError } from '../../domain/index.js';
import { patientReference, single, type Query } from '../fhir/search-params.js';
import type { InteropPatient, InteropSources, RequestAccess } from '../ports.js';

/**
 * The patient a request names, if the caller may see them. A patient outside the caller's care teams is answered
 * exactly as one that does not exist (404, `missing`): a 403 would tell the caller that the id exists. The server
 * still tells them apart, auditing the refusal as `access.denied`.
 */
export function visiblePatient(
  sources: InteropSources,
  access: RequestAccess,
  request: FastifyRequest,
  vigilId: string | undefined,
  shown: string,
  /** What the request named, when it named a device or a flag rather than the patient. */
  missing = `Patient/${shown} does not exist`,
): InteropPatient {
  const patient = vigilId === undefined ? undefined : sources.directory.patient(vigilId);
  if (!patient) throw new VigilError('VIGIL_ERR_NOT_FOUND', missing);
  if (!access.canSee(request, patient.careTeam)) {
    access.denied(request, patient.id, `fhir:${request.url.split('?')[0]}`);
    throw new VigilError('VIGIL_ERR_NOT_FOUND', missing);
  }
  return patient;
}

/** The `patient` parameter of a search, which these searches require, as a patient the caller may see. */
export function requiredPatient(sources: InteropSources, access: RequestAccess, request: FastifyRequest, query: Query): InteropPatient {
  const text = single(query, 'patient');
  if (text === undefined) throw new VigilError('VIGIL_ERR_BAD_REQUEST', 'patient is required (patient=<id> or Patient/<id>)');
  return visiblePatient(sources, access, request, patientReference(text), text);
}

/** The query as the audit log keeps it and the repeat-view rule compares it: parameters sorted, values as sent. */
export function auditQuery(query: Query): string {
  return Object.keys(query)
    .sort()
    .flatMap((k) => {
      const v = query[k];
      return (Array.isArray(v) ? v : [v ?? '']).map((x) => `${k}=${x}`);
    })
    .join('&');
}
