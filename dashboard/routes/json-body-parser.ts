import type { FastifyInstance, FastifyRequest } from 'fastify';
import { MAX_JSON_DEPTH, nestedDeeperThan, VigilError } from '../../domain/index.js';

type ParseDone = (error: Error | null, body?: unknown) => void;
type JsonParser = (request: FastifyRequest, body: string, done: ParseDone) => void;

/**
 * The `application/json` parser of the whole HTTP server: Fastify's own (an empty body, malformed JSON and a
 * `__proto__` or `constructor` key answered as before), then a body nested more than MAX_JSON_DEPTH levels is
 * refused with 400 VIGIL_ERR_TOO_DEEP. JSON.parse takes any depth, but what comes after does not: a rule override
 * (`z.record(z.string(), z.unknown())`) of 20,000 nested arrays overflowed JSON.stringify when stored and answered
 * 500. Parsing is the one step every JSON body goes through, whatever its route, plugin or hooks, and no request
 * needs more than a few levels. Set on the root before anything is registered: a plugin's context copies the
 * parsers it finds. A context that reads bodies as bytes (Nightscout: it records the refusal in the rejection log)
 * replaces this parser and checks the depth itself.
 */
export function registerJsonBodyParser(app: FastifyInstance): void {
  // Fastify's default parser calls `done` at once; its type also allows a promise, which it never returns.
  const parseJson = app.getDefaultJsonParser(app.initialConfig.onProtoPoisoning ?? 'error', app.initialConfig.onConstructorPoisoning ?? 'error') as JsonParser;
  app.addContentTypeParser<string>('application/json', { parseAs: 'string' }, (request, body, done) => {
    parseJson(request, body, (error, json) => {
      if (error) return done(error);
      if (nestedDeeperThan(json, MAX_JSON_DEPTH)) return done(tooDeep());
      done(null, json);
    });
  });
}

function tooDeep(): VigilError {
  return new VigilError('VIGIL_ERR_TOO_DEEP', `the request body nests arrays and objects more than ${MAX_JSON_DEPTH} levels deep`);
}
