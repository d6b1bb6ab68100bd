import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, login, openLive, type DashboardSession } from './support/dashboard-client.js';
import { waitFor } from './support/temp.js';
import { startTestVigil, type TestVigil } from './support/vigil.js';

const PASSWORD = 'correct horse battery staple';

interface Entry {
  readonly actor: string;
  readonly action: string;
  readonly patientId: string | null;
  readonly target: string | null;
  readonly origin: string | null;
  readonly details: unknown;
}

/** Reads of patient data the earlier routes left out of the audit log, and refusals that were not recorded. */
describe('dashboard audit coverage', () => {
  let t: TestVigil;
  let admin: DashboardSession;
  let clinician: DashboardSession;
  let token: string;
  let mine: string;

  const entries = async (query: string) => (await admin.request<{ entries: Entry[] }>('GET', `/api/audit?${query}`)).body.entries;

  beforeAll(async () => {
    t = await startTestVigil();
    const { registry, users } = t.vigil;
    mine = (await registry.addPatient({ name: 'Ann Cardio', careTeam: 'cardiology' })).id;
    await users.add({ username: 'card', role: 'clinician', careTeams: ['cardiology'], password: PASSWORD });
    await users.add({ username: 'boss', role: 'admin', password: PASSWORD });
    admin = await login(t.httpUrl, 'boss', PASSWORD);
    clinician = await login(t.httpUrl, 'card', PASSWORD);
    token = (await admin.request<{ token: string }>('POST', '/api/users/card/tokens', { label: 'EHR interface' })).body.token;
  });
  afterAll(async () => {
    await t?.stop();
  });

  it("audits the patient list and a patient's rules (overrides and snoozes, with their reasons) as views", async () => {
    const bearer = { authorization: `Bearer ${token}` };
    const list = await call<{ patients: { id: string }[] }>(t.httpUrl, 'GET', '/api/patients', undefined, bearer);
    expect(list.body.patients.map((p) => p.id)).toEqual([mine]);
    expect((await call(t.httpUrl, 'GET', `/api/patients/${mine}/rules`, undefined, bearer)).status).toBe(200);
    const byToken = await entries('actor=user:card/token:1');
    expect(byToken.map((e) => `${e.action} ${e.patientId ?? '-'}`)).toEqual([`patient.rules.view ${mine}`, 'patients.view -']);
    // The same caller reading the same thing again soon is one entry, as for every other view.
    await call(t.httpUrl, 'GET', '/api/patients', undefined, bearer);
    expect(await entries('actor=user:card/token:1')).toHaveLength(2);
  });

  it('audits a refusal for want of the admin role as access.denied, naming the patient it was about', async () => {
    expect((await clinician.request('GET', `/api/admin/patients/${mine}/export`)).status).toBe(403);
    expect((await clinician.request('POST', `/api/admin/patients/${mine}/erase`, { confirm: mine })).status).toBe(403);
    expect((await clinician.request('GET', '/api/audit')).status).toBe(403);
    expect((await clinician.request('GET', '/api/users/boss/tokens')).status).toBe(403);
    const denied = await entries('actor=user:card&action=access.denied');
    expect(denied.map((e) => `${e.patientId ?? '-'} ${e.target}`)).toEqual([
      '- /api/users/boss/tokens',
      '- /api/audit',
      `${mine} /api/admin/patients/${mine}/erase`,
      `${mine} /api/admin/patients/${mine}/export`,
    ]);
    expect(denied.every((e) => e.origin === '127.0.0.1')).toBe(true);
  });

  it('audits reading the audit log, which holds patient ids and notes, as the export is', async () => {
    await admin.request('GET', `/api/audit?patient=${mine}`);
    const reads = await entries('actor=user:boss&action=audit.view');
    expect(reads.map((e) => e.patientId)).toContain(mine);
  });

  it('audits opening the live channel, which streams the alerts and readings of every patient the caller may see', async () => {
    const bearer = { authorization: `Bearer ${token}` };
    // Up to date: nothing is replayed, yet from now on the socket carries patient data.
    const first = await openLive(t.httpUrl, bearer, 0);
    first.close();
    await first.closed;
    const again = await openLive(t.httpUrl, bearer, 0);
    again.close();
    const opened = await entries('actor=user:card/token:1&action=live.open');
    // The same caller reconnecting soon is one entry, as for every other view.
    expect(opened).toEqual([expect.objectContaining({ patientId: null, origin: '127.0.0.1' })]);
  });

  it("audits a state change refused for a missing CSRF token or another site's origin, as the session's user", async () => {
    const path = `/api/patients/${mine}/time-zone`;
    expect((await call(t.httpUrl, 'PUT', path, { timeZone: 'Europe/London' }, { cookie: clinician.cookie })).status).toBe(403);
    expect((await clinician.request('PUT', path, { timeZone: 'Europe/London' }, { origin: 'https://evil.example' })).status).toBe(403);
    const refused = await entries('actor=user:card&action=access.refused');
    expect(refused).toEqual([expect.objectContaining({ origin: '127.0.0.1', details: { reason: 'csrf', path } })]);
  });

  it('never takes the actor of a failed login from the user name sent: an unknown name is the target of an unauthenticated attempt', async () => {
    for (const username of ['card/token:1', 'nobody'])
      expect((await call(t.httpUrl, 'POST', '/api/session', { username, password: 'whatever it is' })).status).toBe(401);
    const failed = await entries('action=login.failed');
    expect(failed.slice(0, 2)).toEqual([
      expect.objectContaining({ actor: 'unauthenticated', target: 'user:nobody', details: { reason: 'unknown user' } }),
      expect.objectContaining({ actor: 'unauthenticated', target: null, details: { reason: 'unknown user' } }),
    ]);
    // Nothing in the log looks like the token's own doing.
    expect((await entries('actor=user:card/token:1&action=login.failed'))).toEqual([]);
  });

  it("audits naming another care team's alert in a message to one's own patient, refused as if it did not exist", async () => {
    const other = await t.provision();
    await t.vigil.registry.setCareTeam(other.patientId, 'diabetes');
    const device = await t.connectDevice(other);
    await device.publishAsync(`rpm/v1/devices/${other.deviceId}/readings`, JSON.stringify({ type: 'blood_pressure', time: new Date().toISOString(), systolic: 200, diastolic: 100, id: 'crisis-1' }), { qos: 1 });
    const alert = await waitFor(async () => (await admin.request<{ alerts: { id: number }[] }>('GET', `/api/alerts?patient=${other.patientId}`)).body.alerts[0], { what: "the other team's alert" });
    const refused = await clinician.request('POST', `/api/patients/${mine}/care/messages`, { text: 'about your reading', alertId: alert.id });
    expect(refused).toMatchObject({ status: 404, body: { code: 'VIGIL_ERR_NOT_FOUND' } });
    const denied = await entries('actor=user:card&action=access.denied');
    expect(denied[0]).toMatchObject({ patientId: other.patientId, target: `alert:${alert.id}` });
  });
});
