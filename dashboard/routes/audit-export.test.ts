import Fastify from 'fastify';
import { get, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { validatorCompiler } from 'fastify-type-provider-zod';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditEntry } from '../../domain/index.js';
import type { AuditFilter } from '../../state/index.js';
import { RepeatViews } from '../audit/repeat-views.js';
import type { DashboardContext } from '../context.js';
import { registerAdminRoutes } from './admin-routes.js';
import { registerErrorHandler } from './error-handler.js';
import { jsonSerializerCompiler } from './serializer.js';

/** A log of this many entries, made up as it is read: ids TOTAL down to 1, each with a few hundred bytes of details. */
const TOTAL = 200_000;
const entry = (id: number): AuditEntry => ({
  id,
  at: Date.parse('2026-11-01T00:00:00Z') + id * 1000,
  actor: `user:nurse${id % 7}`,
  origin: '10.0.0.7',
  action: 'patient.view',
  patientId: `p-${id % 500}`,
  target: null,
  details: { note: 'x'.repeat(200), id },
});

/**
 * The audit export is written as the client reads it: a log far larger than memory should hold is read a page at a
 * time, and a client that stops reading stops the reads (the server holds a page and the socket's buffers, not the
 * file). Checked on a real socket against a log that counts its reads.
 */
describe('audit export streaming', () => {
  const app = Fastify({ logger: false });
  /** Entries the export has read from the log so far. */
  let read = 0;
  let url = '';

  beforeAll(async () => {
    app.setValidatorCompiler(validatorCompiler);
    app.setSerializerCompiler(jsonSerializerCompiler);
    registerErrorHandler(app);
    app.addHook('onRequest', async (request) => {
      request.principal = { kind: 'token', userId: null, username: 'admin', displayName: 'admin', role: 'admin', careTeams: [] };
    });
    const ctx = {
      audit: { record: () => undefined },
      views: new RepeatViews(),
      auditTrail: {
        list: async (filter: AuditFilter = {}) => {
          const from = Math.min(TOTAL, (filter.beforeId ?? TOTAL + 1) - 1);
          const count = Math.max(0, Math.min(filter.limit ?? 200, from));
          read += count;
          return Array.from({ length: count }, (_, i) => entry(from - i));
        },
      },
    } as unknown as DashboardContext;
    await app.register(async (scope) => registerAdminRoutes(scope, ctx));
    await app.listen({ port: 0, host: '127.0.0.1' });
    url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}/api/audit/export?format=ndjson`;
  });
  afterAll(() => app.close());

  it('sends the first lines before the log is read to its end, stops reading while the client does not take them, and sends every entry', async () => {
    read = 0;
    const response = await new Promise<IncomingMessage>((resolve, reject) => get(url, resolve).on('error', reject));
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toBe('application/x-ndjson; charset=utf-8');
    response.pause();
    // The client reads nothing for a while: the server must not go on reading the log into its memory.
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const readWhilePaused = read;
    // The whole file held at once would be every entry; a stalled client holds a few pages (the socket's buffers).
    expect(readWhilePaused).toBeLessThan(TOTAL / 4);

    let lines = 0;
    let first: unknown;
    let last = '';
    let rest = '';
    response.setEncoding('utf8');
    for await (const chunk of response as AsyncIterable<string>) {
      const text = rest + chunk;
      const parts = text.split('\n');
      rest = parts.pop()!;
      if (first === undefined && parts.length > 0) first = JSON.parse(parts[0]!);
      lines += parts.length;
      if (parts.length > 0) last = parts.at(-1)!;
    }
    expect(rest).toBe('');
    expect(lines).toBe(TOTAL);
    expect(first).toMatchObject({ id: TOTAL, at: new Date(entry(TOTAL).at).toISOString() });
    expect(JSON.parse(last)).toMatchObject({ id: 1 });
    expect(read).toBe(TOTAL);
  }, 120_000);

  it('stops reading the log when the client goes away', async () => {
    read = 0;
    await new Promise<void>((resolve, reject) =>
      get(url, (response) => {
        response.once('data', () => {
          response.destroy();
          resolve();
        });
      }).on('error', reject),
    );
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const after = read;
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(read).toBe(after);
    expect(read).toBeLessThan(TOTAL / 4);
  });
});
