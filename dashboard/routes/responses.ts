import type { FastifyReply } from 'fastify';
import { z } from 'zod';
import { apiErrorSchema } from '../../domain/index.js';

/** Statuses an API error can have (routes/error-handler.ts maps each code to one; docs/errors.md lists them). */
export type ErrorStatus = 400 | 401 | 403 | 404 | 409 | 413 | 422 | 429 | 503;

/** A route that checks credentials (it can answer 401) can also answer 503: the accounts' database is down. */
type WithOutage<E extends ErrorStatus> = E | (401 extends E ? 503 : never);
type Failures<E extends ErrorStatus> = { [K in WithOutage<E> | 500]: typeof apiErrorSchema };

/**
 * A route's `response` schemas: its success answers, and the one error body for each error status it can give
 * (500 always; 503 too where it lists 401, VIGIL_ERR_STATE_UNAVAILABLE while PostgreSQL does not answer). Declared
 * for every route, so the OpenAPI document describes answers as well as requests, and the serializer sends
 * exactly the declared fields.
 */
export function responses<S extends Record<number, unknown>, E extends ErrorStatus>(success: S, ...errors: E[]): S & Failures<E> {
  const statuses: number[] = errors.includes(401 as E) ? [...errors, 503, 500] : [...errors, 500];
  const failures = Object.fromEntries(statuses.map((status) => [status, apiErrorSchema])) as Failures<E>;
  return { ...success, ...failures };
}

/** The answer of a request that only changes something: 204, no body. */
export const noContent = z.undefined().describe('no content');

/**
 * Sends an answer already serialised as JSON (the worklist's rows, serialised once for every caller of a
 * ranking). The type provider types `send` by the route's response schemas, which describe the parsed shape; the
 * contract test (test/api-contract.e2e.test.ts) checks such an answer against its schema like any other.
 */
export function sendJson(reply: FastifyReply, json: Buffer): FastifyReply {
  return reply.type('application/json; charset=utf-8').send(json);
}
