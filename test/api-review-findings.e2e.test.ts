import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, login, type DashboardSession } from './support/dashboard-client.js';
import { waitFor } from './support/temp.js';
import { startTestVigil, type TestVigil } from './support/vigil.js';

const TOKEN = 'api-review-admin-token-0123456789abcdef';
const PASSWORD = 'correct horse battery staple';

type AuditEntries = { entries: { action: string; patientId: string | null; details: unknown }[] };

/** Defects a security test of the running product found in the JSON API (each test failed before its fix). */
describe('JSON API: override keys, the alert feed in the audit log, unknown routes', () => {
  let t: TestVigil;
  let clinician: DashboardSession;
  let patientId: string;
  const admin = <T = Record<string, unknown>>(method: string, path: string, body?: unknown) => call<T>(t.httpUrl, method, path, body, { authorization: `Bearer ${TOKEN}` });
  const auditOf = async (action: string) => (await admin<AuditEntries>('GET', `/api/audit?actor=user:card&action=${action}`)).body.entries;

  beforeAll(async () => {
    t = await startTestVigil({ VIGIL_ADMIN_TOKEN: TOKEN });
    const device = await t.provision();
    patientId = device.patientId;
    await t.vigil.registry.setCareTeam(patientId, 'cardiology');
    await t.vigil.registry.setProgrammes(patientId, ['heart_failure']);
    await t.vigil.users.add({ username: 'card', role: 'clinician', careTeams: ['cardiology'], password: PASSWORD });
    clinician = await login(t.httpUrl, 'card', PASSWORD);
    const client = await t.connectDevice(device);
    const crisis = { type: 'blood_pressure', time: new Date().toISOString(), systolic: 190, diastolic: 100, id: 'crisis-1' };
    await client.publishAsync(`rpm/v1/devices/${device.deviceId}/readings`, JSON.stringify(crisis), { qos: 1 });
    await waitFor(async () => ((await admin<{ events: unknown[] }>('GET', '/api/alerts/events?after=0')).body.events.length > 0 ? true : undefined), { what: 'the crisis alert event' });
  });
  afterAll(async () => {
    await t?.stop();
  });

  it('refuses an override with a key the rule does not have (400, naming it) and stores nothing', async () => {
    const misspelled = await clinician.request('PUT', `/api/patients/${patientId}/rules/weight.gain`, { override: { dryWeightKG: 78.5 }, reason: 'dry weight at discharge' });
    expect(misspelled).toMatchObject({ status: 400, body: { code: 'VIGIL_ERR_CONFIG', message: expect.stringContaining('dryWeightKG') } });
    const unknown = await clinician.request('PUT', `/api/patients/${patientId}/rules/bp.crisis`, { override: { x: 1 }, reason: 'x' });
    expect(unknown).toMatchObject({ status: 400, body: { code: 'VIGIL_ERR_CONFIG', message: expect.stringMatching(/unknown.*\bx\b/) } });
    const rules = await clinician.request<{ overrides: unknown[] }>('GET', `/api/patients/${patientId}/rules`);
    expect(rules.body.overrides).toEqual([]);

    const right = await clinician.request('PUT', `/api/patients/${patientId}/rules/weight.gain`, { override: { dryWeightKg: 78.5 }, reason: 'dry weight at discharge' });
    expect(right).toMatchObject({ status: 200, body: { rule: { dryWeightKg: 78.5 } } });
  });

  it("audits a read of the alert feed as a view of the clinician's patients; the same read again soon is one entry", async () => {
    expect(await auditOf('alerts.events.view')).toEqual([]);
    const read = await clinician.request<{ events: { alert: { patientId: string } }[] }>('GET', '/api/alerts/events?after=0&limit=1000');
    expect(read.body.events.length).toBeGreaterThan(0);
    const entries = await auditOf('alerts.events.view');
    expect(entries).toEqual([expect.objectContaining({ patientId: null, details: expect.objectContaining({ count: read.body.events.length, after: 0 }) })]);
    await clinician.request('GET', '/api/alerts/events?after=0&limit=1000');
    expect(await auditOf('alerts.events.view')).toHaveLength(1);
  });

  it('audits a replay of alert history on the live channel the same way, and not a connection that replays nothing', async () => {
    const before = (await auditOf('alerts.events.view')).length;
    const live = await clinician.live(0);
    const replayed = live.messages.filter((m) => m.type.startsWith('alert.'));
    expect(replayed.length).toBeGreaterThan(0);
    live.close();
    const entries = await auditOf('alerts.events.view');
    expect(entries).toHaveLength(before + 1);
    expect(entries[0]).toMatchObject({ patientId: null, details: expect.objectContaining({ count: replayed.length, after: 0, via: 'live' }) });
    // Up to date (after the last sequence number): nothing replayed, nothing audited.
    const ready = live.messages.find((m) => m.type === 'ready')!;
    const current = await clinician.live(Number(ready.seq));
    current.close();
    expect(await auditOf('alerts.events.view')).toHaveLength(before + 1);
  });

  it('answers an unknown route in the documented error format, with a code', async () => {
    for (const path of ['/api/nonexistent', '/api/alerts/1/nonexistent?patient=p-1', '/nonexistent']) {
      const response = await call(t.httpUrl, 'GET', path);
      expect(response, path).toMatchObject({ status: 404, body: { code: 'VIGIL_ERR_NOT_FOUND', message: expect.any(String) } });
      expect(Object.keys(response.body).sort(), path).toEqual(['code', 'message']);
      // The query string can carry patient ids: it is not echoed.
      expect(String(response.body.message)).not.toContain('p-1');
    }
    // The dashboard's page (hash routing: one path) and FHIR's own error format are unchanged.
    expect((await call(t.httpUrl, 'GET', '/')).status).toBe(200);
    expect((await admin('GET', '/fhir/Nonexistent')).body).toMatchObject({ resourceType: 'OperationOutcome' });
  });
});
