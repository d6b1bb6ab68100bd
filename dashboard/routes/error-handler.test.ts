import Fastify from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { VigilError } from '../../domain/index.js';
import { registerErrorHandler } from './error-handler.js';

/** The JSON API's error body on a real Fastify: the code's status, and nothing internal in a 500. */
describe('JSON API errors', () => {
  const app = Fastify({ logger: false });
  beforeAll(async () => {
    registerErrorHandler(app);
    app.get('/corrupt', async () => {
      throw new VigilError('VIGIL_ERR_DATA_CORRUPT', '/var/lib/vigil/state.db: page 4711 of table api_tokens is damaged');
    });
    app.get('/conflict', async () => {
      throw new VigilError('VIGIL_ERR_CONFLICT', 'alert 7 is already resolved');
    });
    await app.ready();
  });
  afterAll(() => app.close());

  it("answers a coded server failure as 500 'internal error', not with its message", async () => {
    const res = await app.inject({ method: 'GET', url: '/corrupt' });
    expect(res.statusCode).toBe(500);
    expect(res.json()).toEqual({ code: 'VIGIL_ERR_INTERNAL', message: 'internal error' });
  });

  it('keeps the code and message of a client-side condition', async () => {
    const res = await app.inject({ method: 'GET', url: '/conflict' });
    expect(res.statusCode).toBe(409);
    expect(res.json()).toEqual({ code: 'VIGIL_ERR_CONFLICT', message: 'alert 7 is already resolved' });
  });

  it('answers a path no route serves as VIGIL_ERR_NOT_FOUND, without echoing the query string', async () => {
    const res = await app.inject({ method: 'GET', url: '/api/nonexistent?patient=p-1a2b3c4d5e6f' });
    expect(res.statusCode).toBe(404);
    expect(res.json()).toEqual({ code: 'VIGIL_ERR_NOT_FOUND', message: 'GET /api/nonexistent is not served: see /api/docs' });
  });
});
