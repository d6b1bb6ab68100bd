import type { FastifyRequest } from 'fastify';
import { MAX_JSON_DEPTH, nestedDeeperThan, VigilError } from '../../domain/index.js';

/**
 * preValidation hook of the JSON API: a body nested more than MAX_JSON_DEPTH levels is refused with 400
 * VIGIL_ERR_TOO_DEEP before a route sees it. Fastify's JSON parser takes any depth, and some bodies carry values
 * the route stores as JSON (a rule override is `z.record(z.string(), z.unknown())`): 20,000 nested arrays there
 * overflowed JSON.stringify when stored and answered 500. No API request needs more than a few levels.
 */
export async function refuseDeeplyNestedBody(request: FastifyRequest): Promise<void> {
  const body = request.body;
  // Only parsed JSON: a route that reads its body as bytes (none in the API today) gets it as it came.
  if (typeof body !== 'object' || body === null || Buffer.isBuffer(body)) return;
  if (nestedDeeperThan(body, MAX_JSON_DEPTH)) {
    throw new VigilError('VIGIL_ERR_TOO_DEEP', `the request body nests arrays and objects more than ${MAX_JSON_DEPTH} levels deep`);
  }
}
