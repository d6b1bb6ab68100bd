import type { ErrorCode } from './errors.js';

/**
 * The HTTP status each error code answers with, for every HTTP surface (the JSON API and /fhir): one table, so the
 * two never disagree on what a problem is. A code not listed is the server's own failure (500).
 */
const STATUS: Partial<Record<ErrorCode, number>> = {
  VIGIL_ERR_UNAUTHORIZED: 401,
  VIGIL_ERR_FORBIDDEN: 403,
  VIGIL_ERR_LOGIN_FAILED: 401,
  VIGIL_ERR_RATE_LIMITED: 429,
  VIGIL_ERR_NOT_FOUND: 404,
  VIGIL_ERR_CONFLICT: 409,
  VIGIL_ERR_CONFIG: 400,
  VIGIL_ERR_BAD_REQUEST: 400,
  VIGIL_ERR_SAFETY_FLOOR: 422,
  VIGIL_ERR_BUSY: 503,
  // Not stored, so not acknowledged: the uploader (a Nightscout client) sends it again later.
  VIGIL_ERR_OUTBOX_UNAVAILABLE: 503,
  // Nobody is let in (or refused) while the accounts cannot be read: the client tries again (Retry-After).
  VIGIL_ERR_STATE_UNAVAILABLE: 503,
  VIGIL_ERR_PAYLOAD_TOO_LARGE: 413,
  VIGIL_ERR_BATCH_TOO_LARGE: 413,
  VIGIL_ERR_NOT_JSON: 400,
  VIGIL_ERR_TOO_DEEP: 400,
};

/** The code an error Fastify raised by status (a 404 route, a 429 from the rate limiter) is reported with. */
const BY_STATUS: Partial<Record<number, ErrorCode>> = {
  401: 'VIGIL_ERR_UNAUTHORIZED',
  403: 'VIGIL_ERR_FORBIDDEN',
  404: 'VIGIL_ERR_NOT_FOUND',
  413: 'VIGIL_ERR_PAYLOAD_TOO_LARGE',
  429: 'VIGIL_ERR_RATE_LIMITED',
};

export function httpStatusOf(code: ErrorCode): number {
  return STATUS[code] ?? 500;
}

/**
 * The Retry-After (seconds, RFC 9110 10.2.3) of a temporary condition: a client, or a load balancer, tries again
 * then rather than at once. The pool reconnects on the first request after the database is back.
 */
const RETRY_AFTER: Partial<Record<ErrorCode, number>> = {
  VIGIL_ERR_STATE_UNAVAILABLE: 5,
};

export function retryAfterOf(code: ErrorCode): number | undefined {
  return RETRY_AFTER[code];
}

/** The code of a client error (4xx) that did not come with one; a status without its own code is a bad request. */
export function errorCodeOfStatus(status: number): ErrorCode {
  return BY_STATUS[status] ?? 'VIGIL_ERR_BAD_REQUEST';
}
