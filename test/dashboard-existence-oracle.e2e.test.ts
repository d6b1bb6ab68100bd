import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Alert } from '../alerts/index.js';
import type { AuditEntry } from '../domain/index.js';
import { login, type ApiResponse, type DashboardSession } from './support/dashboard-client.js';
import { waitFor } from './support/temp.js';
import { startTestVigil, type TestVigil } from './support/vigil.js';

const PASSWORD = 'correct horse battery staple';

/** The answer with the id it names replaced, so that answers about two ids can be compared. */
function shape(response: ApiResponse, id: string | number) {
  return { status: response.status, body: JSON.parse(JSON.stringify(response.body).replaceAll(String(id), '<id>')) as unknown };
}

/**
 * A clinician asking for another team's patient or alert gets the answer an id that does not exist gets: a 403
 * would tell them (or a leaked token probing ids) which ids exist. The server still records the refusal.
 */
describe("another team's patient or alert is answered like one that does not exist", () => {
  let t: TestVigil;
  let card: DashboardSession;
  let admin: DashboardSession;
  let theirs: string;
  let theirAlert: number;
  const nobody = 'p_no_such_patient';
  const noAlert = 987_654;

  beforeAll(async () => {
    t = await startTestVigil();
    const device = await t.provision();
    await t.vigil.registry.setCareTeam(device.patientId, 'diabetes-clinic');
    await t.vigil.registry.setProgrammes(device.patientId, ['hypertension']);
    theirs = device.patientId;
    const client = await t.connectDevice(device);
    await client.publishAsync(`rpm/v1/devices/${device.deviceId}/readings`, JSON.stringify({ type: 'blood_pressure', time: new Date().toISOString(), systolic: 195, diastolic: 100, id: 'crisis-1' }), { qos: 1 });
    await t.vigil.users.add({ username: 'card', role: 'clinician', careTeams: ['cardiology'], password: PASSWORD });
    await t.vigil.users.add({ username: 'boss', role: 'admin', password: PASSWORD });
    card = await login(t.httpUrl, 'card', PASSWORD);
    admin = await login(t.httpUrl, 'boss', PASSWORD);
    theirAlert = (await waitFor(async () => (await admin.request<{ alerts: Alert[] }>('GET', `/api/alerts?patient=${theirs}`)).body.alerts[0], { what: 'the alert' })).id;
  });
  afterAll(async () => {
    await t?.stop();
  });

  it('answers 404 with the same body for a patient of another team as for a patient id that does not exist, and audits the refusal', async () => {
    const until = new Date(Date.now() + 3_600_000).toISOString();
    const requests: [string, (id: string) => string, unknown?][] = [
      ['GET', (id) => `/api/patients/${id}`],
      ['GET', (id) => `/api/patients/${id}/readings?type=blood_pressure&from=2026-01-01T00:00:00Z`],
      ['GET', (id) => `/api/patients/${id}/rules`],
      ['GET', (id) => `/api/alerts?patient=${id}`],
      ['PUT', (id) => `/api/patients/${id}/snoozes/bp.crisis`, { until, note: 'probing' }],
    ];
    for (const [method, path, body] of requests) {
      const existing = shape(await card.request(method, path(theirs), body), theirs);
      const missing = shape(await card.request(method, path(nobody), body), nobody);
      expect(existing, `${method} ${path('<id>')}`).toEqual(missing);
      expect(existing.status, `${method} ${path('<id>')}`).toBe(404);
    }
    const denied = (await admin.request<{ entries: AuditEntry[] }>('GET', '/api/audit?actor=user:card&action=access.denied')).body.entries;
    // Each refusal of the existing patient is recorded with the patient; nothing is recorded for the missing one.
    expect(denied.map((e) => e.patientId)).toEqual(requests.map(() => theirs));
    expect(denied.map((e) => e.target)).toContain(`/api/patients/${theirs}`);
  });

  it("answers 404 with the same body for another team's alert as for an alert id that does not exist, and audits the refusal", async () => {
    const before = (await admin.request<{ entries: AuditEntry[] }>('GET', '/api/audit?actor=user:card&action=access.denied')).body.entries.length;
    const requests: [string, (id: number) => string, unknown?][] = [
      ['GET', (id) => `/api/alerts/${id}`],
      ['POST', (id) => `/api/alerts/${id}/acknowledge`, { note: 'probing' }],
      ['POST', (id) => `/api/alerts/${id}/resolve`, {}],
    ];
    for (const [method, path, body] of requests) {
      const existing = shape(await card.request(method, path(theirAlert), body), theirAlert);
      const missing = shape(await card.request(method, path(noAlert), body), noAlert);
      expect(existing, `${method} ${path(0)}`).toEqual(missing);
      expect(existing.status, `${method} ${path(0)}`).toBe(404);
    }
    const all = (await admin.request<{ entries: AuditEntry[] }>('GET', '/api/audit?actor=user:card&action=access.denied')).body.entries;
    expect(all).toHaveLength(before + requests.length);
    const denied = all.slice(0, requests.length);
    expect(denied.map((e) => `${e.patientId} ${e.target}`)).toEqual(requests.map(([, path]) => `${theirs} ${path(theirAlert)}`).reverse());
    // The alert is untouched: the refusal came before the action.
    expect((await admin.request<{ alert: Alert }>('GET', `/api/alerts/${theirAlert}`)).body.alert.status).toBe('open');
  });
});
