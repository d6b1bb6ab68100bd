import Fastify from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerErrorHandler } from './error-handler.js';
import { registerJsonBodyParser } from './json-body-parser.js';

const nested = (levels: number) => `${'['.repeat(levels)}${']'.repeat(levels)}`;

/** The server's JSON parser on a real Fastify: the depth limit in every context, Fastify's own refusals kept. */
describe('the depth-checked JSON body parser', () => {
  const app = Fastify({ logger: false });
  beforeAll(async () => {
    registerJsonBodyParser(app);
    registerErrorHandler(app);
    app.post('/echo', async (request) => ({ body: request.body }));
    // A plugin with hooks and an error format of its own, as /fhir has: the parser is still the root's.
    await app.register(
      async (child) => {
        child.setErrorHandler(async (error: Error & { code?: string }, _request, reply) => reply.code(400).send({ outcome: error.code }));
        child.post('/echo', async (request) => ({ body: request.body }));
      },
      { prefix: '/child' },
    );
    await app.ready();
  });
  afterAll(() => app.close());

  const post = (url: string, payload: string) => app.inject({ method: 'POST', url, headers: { 'content-type': 'application/json' }, payload });

  it('refuses a body nested past 32 levels with 400 VIGIL_ERR_TOO_DEEP, and takes one at the limit', async () => {
    const refused = await post('/echo', `{"a":${nested(20_000)}}`);
    expect(refused.statusCode).toBe(400);
    expect(refused.json()).toEqual({ code: 'VIGIL_ERR_TOO_DEEP', message: 'the request body nests arrays and objects more than 32 levels deep' });
    expect((await post('/echo', `{"a":${nested(32)}}`)).statusCode).toBe(400);
    const atLimit = await post('/echo', `{"a":${nested(31)}}`);
    expect(atLimit.statusCode).toBe(200);
  });

  it('refuses it in a child context too, through that context\'s error handler', async () => {
    const refused = await post('/child/echo', nested(20_000));
    expect(refused.statusCode).toBe(400);
    expect(refused.json()).toEqual({ outcome: 'VIGIL_ERR_TOO_DEEP' });
  });

  it("keeps Fastify's own refusals: an empty body, malformed JSON, a __proto__ key", async () => {
    expect((await post('/echo', '')).json()).toMatchObject({ code: 'VIGIL_ERR_BAD_REQUEST' });
    expect((await post('/echo', '{"a":')).json()).toMatchObject({ code: 'VIGIL_ERR_BAD_REQUEST' });
    expect((await post('/echo', '{"__proto__":{"admin":true}}')).statusCode).toBe(400);
    expect((await post('/echo', '{"a":[1,{"b":"c"}]}')).json()).toEqual({ body: { a: [1, { b: 'c' }] } });
  });
});
