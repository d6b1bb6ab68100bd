import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { errorCodeOfStatus, httpStatusOf, retryAfterOf, VigilError } from '../../domain/index.js';
import { operationOutcome } from '../fhir/operation-outcome.js';
import { FHIR_JSON } from '../fhir/types.js';
import type { RequestAccess } from '../ports.js';

/** A request for a format Vigil does not produce (HTTP 406). */
class NotAcceptable extends Error {}

/** The base URL of this FHIR endpoint as the client reached it (behind VIGIL_TRUST_PROXY, the proxy's). */
export function baseUrl(request: FastifyRequest): string {
  return `${request.protocol}://${request.host}/fhir`;
}

/**
 * What every /fhir route shares: answers as `application/fhir+json`, never cached, errors as OperationOutcome
 * (R4 http.html: a failed interaction SHOULD return one) with the status the JSON API would use; a 401 names the
 * bearer scheme; at most `ratePerMinute` requests per client address. Registered with the /fhir prefix; `requireCaller` adds the caller check to a child context.
 */
export function fhirPlugin(app: FastifyInstance, ratePerMinute: number): void {
  // First, before credentials are checked: a client guessing tokens or paging without pause is slowed as much as
  // one that holds a valid token (the 429 is an OperationOutcome through the handler below, with Retry-After).
  // The limiter is the one the dashboard registers on this server (@fastify/rate-limit), keyed by client address.
  app.addHook('onRequest', app.rateLimit({ max: ratePerMinute, timeWindow: '1 minute' }));
  // Vigil speaks FHIR JSON only: a client that accepts nothing else (application/fhir+xml) is told so, not sent JSON.
  app.addHook('onRequest', async (request) => {
    const accept = request.headers.accept;
    if (accept && !/json|\*\/\*|application\/\*/i.test(accept)) throw new NotAcceptable(`Vigil answers application/fhir+json only, not ${accept}`);
  });
  app.addHook('onSend', async (_request, reply: FastifyReply, payload) => {
    reply.header('content-type', FHIR_JSON);
    reply.header('cache-control', 'no-store');
    return payload;
  });
  app.setErrorHandler((error: FastifyError | VigilError | NotAcceptable, request, reply) => {
    if (error instanceof VigilError) {
      const status = httpStatusOf(error.code);
      if (status === 401) reply.header('www-authenticate', 'Bearer realm="vigil"');
      const retryAfter = retryAfterOf(error.code);
      if (retryAfter !== undefined) reply.header('retry-after', String(retryAfter));
      // A coded failure of the server itself (a damaged or unreachable store) is logged; its message, which may
      // name files or internal ids, is not the client's to read.
      if (status === 500) {
        request.log.error({ err: error }, 'FHIR request failed');
        return reply.code(status).send(operationOutcome(status, 'VIGIL_ERR_INTERNAL', 'internal error'));
      }
      return reply.code(status).send(operationOutcome(status, error.code, error.message));
    }
    if (error instanceof NotAcceptable) return reply.code(406).send(operationOutcome(406, 'VIGIL_ERR_BAD_REQUEST', error.message));
    const status = (error as FastifyError).statusCode ?? 500;
    if (status >= 500) {
      request.log.error({ err: error }, 'FHIR request failed');
      return reply.code(status).send(operationOutcome(status, 'VIGIL_ERR_INTERNAL', 'internal error'));
    }
    return reply.code(status).send(operationOutcome(status, errorCodeOfStatus(status), error.message));
  });
  app.setNotFoundHandler((request, reply) => {
    reply.code(404).send(operationOutcome(404, 'VIGIL_ERR_NOT_FOUND', `${request.method} ${request.url.split('?')[0]} is not served: see /fhir/metadata`));
  });
}

/**
 * A request under /fhir that Fastify refused before routing (a malformed percent-encoding): an OperationOutcome
 * like every other /fhir error, for the HTTP server's `frameworkErrors`.
 */
export function fhirFrameworkError(error: FastifyError, request: FastifyRequest, reply: FastifyReply): boolean {
  if (!/^\/fhir(\/|\?|$)/.test(request.url)) return false;
  const status = error.statusCode ?? 400;
  void reply.code(status).header('content-type', FHIR_JSON).header('cache-control', 'no-store').send(operationOutcome(status, errorCodeOfStatus(status), 'the URL is not valid (a malformed percent-encoding?)'));
  return true;
}

/** Every route of this context needs a caller (the session cookie or a bearer token). */
export function requireCaller(app: FastifyInstance, access: RequestAccess): void {
  app.addHook('onRequest', async (request) => void (await access.identify(request)));
}
