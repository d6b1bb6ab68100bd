import type { MqttClient } from 'mqtt';
import type { OpenAPIV3 } from 'openapi-types';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  alertEventSchema,
  alertSchema,
  auditEntrySchema,
  liveMessageSchema,
  patientRecordSchema,
  seriesSchema,
  sessionInfoSchema,
  userSchema,
  worklistSchema,
} from '../domain/index.js';
import { call, login, type DashboardSession } from './support/dashboard-client.js';
import { waitFor } from './support/temp.js';
import { startTestVigil, type TestVigil } from './support/vigil.js';

const PASSWORD = 'correct horse battery staple';
const METHODS = ['get', 'put', 'post', 'delete', 'patch'] as const;

/** The JSON a response would be if nothing were stripped: the server's own object, through JSON. */
const asJson = (value: unknown): unknown => JSON.parse(JSON.stringify(value));

/** The answer has every field its schema declares, of the declared kind, and no field it does not declare. */
function exactly<S extends z.ZodType>(schema: S, body: unknown): z.output<S> {
  const parsed = schema.parse(body);
  expect(parsed).toEqual(body);
  return parsed;
}

describe('the API contract: response schemas in the OpenAPI document, and answers that keep their fields', () => {
  let t: TestVigil;
  let admin: DashboardSession;
  let patient: { patientId: string; deviceId: string; client: MqttClient };

  beforeAll(async () => {
    t = await startTestVigil();
    const dev = await t.provision();
    await t.vigil.registry.setCareTeam(dev.patientId, 'cardiology');
    await t.vigil.registry.setProgrammes(dev.patientId, ['hypertension', 'heart_failure']);
    patient = { ...dev, client: await t.connectDevice(dev) };
    await t.vigil.users.add({ username: 'chief', role: 'admin', password: PASSWORD, displayName: 'Chief' });
    admin = await login(t.httpUrl, 'chief', PASSWORD);
  });
  afterAll(async () => {
    await t?.stop();
  });

  it('documents a schema for the success answer of every route, and the one error body for its errors', async () => {
    const { status, body: spec } = await call<OpenAPIV3.Document>(t.httpUrl, 'GET', '/api/docs/json');
    expect(status).toBe(200);
    const problems: string[] = [];
    let operations = 0;
    for (const [path, item] of Object.entries(spec.paths)) {
      for (const method of METHODS) {
        const operation = item?.[method];
        if (!operation) continue;
        operations++;
        const where = `${method.toUpperCase()} ${path}`;
        const answers = Object.entries(operation.responses) as [string, OpenAPIV3.ResponseObject][];
        const success = answers.filter(([code]) => /^2\d\d$/.test(code));
        if (success.length === 0) problems.push(`${where}: no 2xx response`);
        for (const [code, answer] of success) {
          // 204 has no body; every other success answer names its schema (JSON, or the text type it sends).
          if (code !== '204' && !Object.values(answer.content ?? {}).some((media) => media.schema !== undefined)) problems.push(`${where}: ${code} has no schema`);
        }
        for (const [code, answer] of answers.filter(([c]) => /^[45]\d\d$/.test(c))) {
          // /readyz answers 503 with its own report; every other error is the shared body.
          if (path === '/readyz' && code === '503') continue;
          const schema = answer.content?.['application/json']?.schema as OpenAPIV3.ReferenceObject | undefined;
          if (schema?.$ref !== '#/components/schemas/ApiError') problems.push(`${where}: ${code} is not the ApiError body`);
        }
        if (!answers.some(([c]) => c === '500')) problems.push(`${where}: no 500 answer`);
      }
    }
    expect(problems).toEqual([]);
    // Not vacuous: the document holds the dashboard's routes and the operations routes.
    expect(operations).toBeGreaterThan(25);
    for (const path of ['/api/worklist', '/api/patients/{patientId}', '/api/alerts/{id}/acknowledge', '/api/session', '/healthz', '/readyz', '/metrics']) {
      expect(Object.keys(spec.paths)).toContain(path);
    }
    expect(Object.keys(spec.components?.schemas ?? {})).toEqual(expect.arrayContaining(['ApiError', 'Patient', 'Device', 'Alert', 'AlertEvent', 'LatestReading', 'WorklistRow', 'PatientRecord', 'User', 'AuditEntry', 'LiveMessage']));
  });

  it('answers the main routes with exactly the fields of their schema, all the server holds, and keeps patient data out of caches', async () => {
    const live = await admin.live();
    const now = Date.now();
    await patient.client.publishAsync(
      `rpm/v1/devices/${patient.deviceId}/readings`,
      JSON.stringify([
        { type: 'blood_pressure', time: new Date(now - 60_000).toISOString(), systolic: 186, diastolic: 124, pulse: 88, id: 'c1' },
        { type: 'weight', time: new Date(now - 120_000).toISOString(), value: 81.2, unit: 'kg', id: 'w1' },
      ]),
      { qos: 1 },
    );
    const alerts = await waitFor(() => t.vigil.alerts.queries.list({ patientId: patient.patientId }).filter((a) => a.ruleId === 'bp.crisis'), { what: 'the crisis alert' });
    const alertId = alerts[0]!.id;
    await waitFor(() => live.messages.some((m) => m.type === 'readings') && live.messages.some((m) => m.type === 'alert.opened'), { what: 'live readings and the alert' });

    const record = await admin.request('GET', `/api/patients/${patient.patientId}`);
    expect(record.status).toBe(200);
    expect(record.headers.get('cache-control')).toBe('no-store');
    const parsed = exactly(patientRecordSchema, record.body);
    expect(parsed.latest.map((r) => r.type).sort()).toEqual(['blood_pressure', 'weight']);
    // What the server holds reaches the client whole: the serializer sends the declared fields, and these are all of them.
    expect(record.body.patient).toEqual(asJson(t.vigil.registry.getPatient(patient.patientId)));
    expect(record.body.rules).toEqual(asJson(t.vigil.alerts.queries.rulesFor(patient.patientId)));
    expect(record.body.alerts).toEqual(asJson(t.vigil.alerts.queries.list({ patientId: patient.patientId, limit: 200 })));

    const one = await admin.request('GET', `/api/alerts/${alertId}`);
    expect(exactly(z.object({ alert: alertSchema, events: z.array(alertEventSchema) }), one.body).alert.severity).toBe('critical');
    expect(one.body).toEqual(asJson(t.vigil.alerts.queries.get(alertId)));
    expect(one.headers.get('cache-control')).toBe('no-store');

    const worklist = await admin.request('GET', '/api/worklist');
    expect(exactly(worklistSchema, worklist.body).entries[0]).toMatchObject({ attention: 'critical', patient: { id: patient.patientId, timeZone: expect.any(String) } });
    expect(worklist.headers.get('cache-control')).toBe('no-store');

    // Alerts and the live channel follow the outbox commit; the store has the reading once the shipper has been by.
    const series = await waitFor(async () => {
      const r = await admin.request('GET', `/api/patients/${patient.patientId}/readings?type=blood_pressure&from=${new Date(now - 3_600_000).toISOString()}`);
      return (r.body as { points?: unknown[] }).points?.length ? r : undefined;
    }, { what: 'the reading stored' });
    expect(exactly(seriesSchema, series.body).points[0]?.mean).toMatchObject({ systolic: 186, diastolic: 124 });
    expect(series.headers.get('cache-control')).toBe('no-store');

    const session = await admin.request('GET', '/api/session');
    expect(exactly(sessionInfoSchema, session.body).user).toEqual({ username: 'chief', displayName: 'Chief', role: 'admin', careTeams: [] });
    expect(session.headers.get('cache-control')).toBe('no-store');

    const users = await admin.request<{ users: unknown[] }>('GET', '/api/users');
    expect(exactly(z.object({ users: z.array(userSchema) }), users.body).users.map((u) => u.username)).toContain('chief');
    expect(users.body.users).toEqual(asJson(await t.vigil.users.list()));

    const audit = await admin.request<{ entries: unknown[] }>('GET', '/api/audit?limit=5');
    expect(exactly(z.object({ entries: z.array(auditEntrySchema), next: z.number().optional() }), audit.body).entries).toHaveLength(5);

    // The live channel's messages match its schema, from which the page takes its types.
    for (const message of live.messages) exactly(liveMessageSchema, message);
    live.close();
  });

  it('answers errors with the documented body', async () => {
    const missing = await admin.request('GET', '/api/patients/nobody');
    expect(missing).toMatchObject({ status: 404, body: { code: 'VIGIL_ERR_NOT_FOUND', message: 'patient nobody does not exist' } });
    const bad = await admin.request('GET', `/api/patients/${patient.patientId}/readings?type=nonsense&from=2026-01-01T00:00:00Z`);
    expect(bad).toMatchObject({ status: 400, body: { code: 'VIGIL_ERR_BAD_REQUEST' } });
    expect(Object.keys(bad.body).sort()).toEqual(['code', 'message']);
  });

  it('answers the operations routes as documented: JSON health and readiness, Prometheus text', async () => {
    expect(await call(t.httpUrl, 'GET', '/healthz')).toMatchObject({ status: 200, body: { status: 'ok' } });
    const ready = await call<{ status: string; checks: Record<string, { ok: boolean }> }>(t.httpUrl, 'GET', '/readyz');
    expect(ready.status).toBe(200);
    expect(ready.body.status).toBe('ready');
    expect(Object.values(ready.body.checks).every((c) => c.ok)).toBe(true);
    const metrics = await call<string>(t.httpUrl, 'GET', '/metrics');
    expect(metrics.headers.get('content-type')).toMatch(/^text\/plain/);
    expect(metrics.body).toMatch(/^# HELP /m);
    // One family (or a few) for a poller that follows a counter; an unknown name is left out, a malformed one refused.
    const one = await call<string>(t.httpUrl, 'GET', '/metrics?name=vigil_readings_stored_total&name=no_such_metric');
    expect(one.status).toBe(200);
    expect(one.body).toMatch(/^# TYPE vigil_readings_stored_total counter$/m);
    expect(one.body.match(/^# TYPE /gm)).toHaveLength(1);
    expect((await call(t.httpUrl, 'GET', '/metrics?name=bad%20name')).status).toBe(400);
  });
});
