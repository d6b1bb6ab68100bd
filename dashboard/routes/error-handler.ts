import type { FastifyError, FastifyInstance } from 'fastify';
import { ZodError } from 'zod';
import { errorCodeOfStatus, httpStatusOf, retryAfterOf, VigilError } from '../../domain/index.js';

/**
 * One place where errors become responses: `{ code, message }` with a status that fits the code, a path no route
 * serves included (`/fhir` sets its own, an OperationOutcome).
 */
export function registerErrorHandler(app: FastifyInstance): void {
  // Fastify's default answer has neither a code nor the documented shape. The dashboard's page routes by the URL's
  // fragment (#/patients/...), so no other path needs to fall back to index.html. The query string is not echoed:
  // it can name a patient.
  app.setNotFoundHandler((request, reply) => {
    const path = request.url.split('?')[0] ?? '';
    const hint = /^\/api(\/|$)/.test(path) ? ': see /api/docs' : '';
    return reply.code(404).send({ code: 'VIGIL_ERR_NOT_FOUND', message: `${request.method} ${path} is not served${hint}` });
  });
  app.setErrorHandler((error: FastifyError | VigilError | ZodError, request, reply) => {
    if (error instanceof VigilError) {
      const status = httpStatusOf(error.code);
      const retryAfter = retryAfterOf(error.code);
      if (retryAfter !== undefined) reply.header('retry-after', String(retryAfter));
      // A coded failure of the server itself (a damaged file, an outbox that cannot be written) is logged; its
      // message names files and internals that are not the client's to read.
      if (status === 500) {
        request.log.error({ err: error }, 'request failed');
        return reply.code(500).send({ code: 'VIGIL_ERR_INTERNAL', message: 'internal error' });
      }
      return reply.code(status).send({ code: error.code, message: error.message });
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
    return reply.code(status).send({ code: errorCodeOfStatus(status), message: error.message });
  });
}
