import type { FastifyError, FastifyInstance } from 'fastify';
import { ZodError } from 'zod';
import { VigilError, type ErrorCode } from '../../domain/index.js';

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
  VIGIL_ERR_PAYLOAD_TOO_LARGE: 413,
  VIGIL_ERR_BATCH_TOO_LARGE: 413,
  VIGIL_ERR_NOT_JSON: 400,
};

const BY_STATUS: Partial<Record<number, ErrorCode>> = {
  401: 'VIGIL_ERR_UNAUTHORIZED',
  403: 'VIGIL_ERR_FORBIDDEN',
  404: 'VIGIL_ERR_NOT_FOUND',
  413: 'VIGIL_ERR_PAYLOAD_TOO_LARGE',
  429: 'VIGIL_ERR_RATE_LIMITED',
};

/** One place where errors become responses: `{ code, message }` with a status that fits the code. */
export function registerErrorHandler(app: FastifyInstance): void {
  app.setErrorHandler((error: FastifyError | VigilError | ZodError, request, reply) => {
    if (error instanceof VigilError) {
      return reply.code(STATUS[error.code] ?? 500).send({ code: error.code, message: error.message });
    }
    if (error instanceof ZodError) {
      const issue = error.issues[0];
      const message = issue ? `${issue.path.join('.') || 'body'}: ${issue.message}` : 'invalid request';
      return reply.code(400).send({ code: 'VIGIL_ERR_BAD_REQUEST', message });
    }
    const status = (error as FastifyError).statusCode ?? 500;
    if (status >= 500) {
      request.log.error({ err: error }, 'request failed');
      return reply.code(status).send({ code: 'VIGIL_ERR_INTERNAL', message: 'internal error' });
    }
    return reply.code(status).send({ code: BY_STATUS[status] ?? 'VIGIL_ERR_BAD_REQUEST', message: error.message });
  });
}
