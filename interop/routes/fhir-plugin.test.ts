import rateLimit from '@fastify/rate-limit';
import Fastify from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { VigilError } from '../../domain/index.js';
import { fhirPlugin } from './fhir-plugin.js';

/** The /fhir error contract on a real Fastify: every failure an OperationOutcome, nothing internal in it. */
describe('fhirPlugin errors', () => {
  const app = Fastify({ logger: false });
  beforeAll(async () => {
    await app.register(rateLimit, { global: false });
    await app.register(
      async (fhir) => {
        fhirPlugin(fhir, 1000);
        fhir.get('/corrupt', async () => {
          throw new VigilError('VIGIL_ERR_DATA_CORRUPT', '/var/lib/vigil/state.db: page 4711 of table api_tokens is damaged');
        });
        fhir.get('/bug', async () => {
          throw new TypeError("Cannot read properties of undefined (reading 'careTeam')");
        });
        fhir.get('/busy', async () => {
          throw new VigilError('VIGIL_ERR_BUSY', 'too many at once');
        });
      },
      { prefix: '/fhir' },
    );
    await app.ready();
  });
  afterAll(() => app.close());

  it("answers a coded server failure as 500 'internal error', not with its message (file paths, table names)", async () => {
    for (const path of ['/fhir/corrupt', '/fhir/bug']) {
      const res = await app.inject({ method: 'GET', url: path });
      expect(res.statusCode, path).toBe(500);
      const body = res.json();
      expect(body.resourceType).toBe('OperationOutcome');
      expect(body.issue[0]).toMatchObject({ severity: 'fatal', details: { coding: [{ code: 'VIGIL_ERR_INTERNAL' }], text: 'internal error' } });
      expect(res.body).not.toMatch(/state\.db|api_tokens|careTeam/);
    }
  });

  it('keeps the message of a coded client-side or transient condition (503 says try again)', async () => {
    const res = await app.inject({ method: 'GET', url: '/fhir/busy' });
    expect(res.statusCode).toBe(503);
    expect(res.json().issue[0]).toMatchObject({ code: 'transient', details: { text: 'too many at once' } });
  });
});
