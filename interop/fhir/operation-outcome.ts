import type { ErrorCode } from '../../domain/index.js';
import type { Resource } from './types.js';

/** FHIR issue types (hl7.org/fhir/R4/valueset-issue-type.html) by HTTP status. */
const ISSUE_TYPE: Readonly<Record<number, string>> = {
  400: 'invalid',
  401: 'login',
  403: 'forbidden',
  404: 'not-found',
  406: 'not-supported',
  429: 'throttled',
  503: 'transient',
};

/** An error as FHIR states it: one issue, its type from the status, Vigil's code and message in `details`. */
export function operationOutcome(status: number, code: ErrorCode | 'VIGIL_ERR_INTERNAL', message: string): Resource {
  return {
    resourceType: 'OperationOutcome',
    issue: [
      {
        severity: status >= 500 && status !== 503 ? 'fatal' : 'error',
        code: ISSUE_TYPE[status] ?? (status >= 500 ? 'exception' : 'processing'),
        details: { coding: [{ system: 'urn:vigil:error-code', code }], text: message },
      },
    ],
  };
}
