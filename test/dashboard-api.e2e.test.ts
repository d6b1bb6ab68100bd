import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Alert } from '../alerts/index.js';
import { call, login, openLive, type DashboardSession } from './support/dashboard-client.js';
import { postFrom } from './support/http-from.js';
import { waitFor } from './support/temp.js';
import { startTestVigil, type TestVigil } from './support/vigil.js';

const TOKEN = 'dashboard-test-token-0123456789abcdef';
const PASSWORD = 'correct horse battery staple';

describe('dashboard API and live channel', () => {
  let t: TestVigil;
  let cardiologist: DashboardSession;
  let admin: DashboardSession;
  let cardio: { patientId: string; deviceId: string; client: MqttClient };
  let diabetes: { patientId: string; deviceId: string; client: MqttClient };

  const crisis = (client: MqttClient, deviceId: string, systolic: number, id: string) =>
    client.publishAsync(`rpm/v1/devices/${deviceId}/readings`, JSON.stringify({ type: 'blood_pressure', time: new Date().toISOString(), systolic, diastolic: 100, id }), { qos: 1 });

  beforeAll(async () => {
    t = await startTestVigil({ VIGIL_ADMIN_TOKEN: TOKEN, VIGIL_LOGIN_MAX_FAILURES: '3' });
    const { registry, users } = t.vigil;
    for (const [team, name] of [['cardiology', 'cardio'], ['diabetes-clinic', 'diabetes']] as const) {
      const dev = await t.provision();
      await registry.setCareTeam(dev.patientId, team);
      await registry.setProgrammes(dev.patientId, ['hypertension']);
      const entry = { ...dev, client: await t.connectDevice(dev) };
      if (name === 'cardio') cardio = entry;
      else diabetes = entry;
    }
    await users.add({ username: 'card', role: 'clinician', careTeams: ['cardiology'], password: PASSWORD, displayName: 'Dr Card' });
    await users.add({ username: 'boss', role: 'admin', password: PASSWORD });
    await users.add({ username: 'victim', role: 'clinician', careTeams: ['cardiology'], password: PASSWORD });
    cardiologist = await login(t.httpUrl, 'card', PASSWORD);
    admin = await login(t.httpUrl, 'boss', PASSWORD);
  });
  afterAll(async () => {
    await t?.stop();
  });

  it('sets an HttpOnly, SameSite=Strict session cookie and answers with the user and a CSRF token', async () => {
    const response = await call<Record<string, unknown>>(t.httpUrl, 'POST', '/api/session', { username: 'card', password: PASSWORD });
    expect(response.status).toBe(200);
    const cookie = response.headers.get('set-cookie')!;
    expect(cookie).toMatch(/^vigil_session=[\w-]{40,};/);
    expect(cookie).toMatch(/HttpOnly/i);
    expect(cookie).toMatch(/SameSite=Strict/i);
    expect(response.body).toMatchObject({ user: { username: 'card', role: 'clinician', careTeams: ['cardiology'] }, idleMinutes: 15 });
    expect(String(response.body.csrfToken)).toMatch(/^[\w-]{20,}$/);
    const me = await cardiologist.request('GET', '/api/session');
    expect(me.body).toMatchObject({ user: { displayName: 'Dr Card' } });
  });

  it('refuses the API without a session, and a state change without the CSRF token or from another origin', async () => {
    expect((await call(t.httpUrl, 'GET', '/api/worklist')).status).toBe(401);
    expect((await call(t.httpUrl, 'GET', '/api/worklist', undefined, { cookie: 'vigil_session=forged' })).status).toBe(401);
    const noToken = await call(t.httpUrl, 'PUT', `/api/patients/${cardio.patientId}/snoozes/bp.crisis`, { until: new Date(Date.now() + 3_600_000).toISOString() }, { cookie: cardiologist.cookie });
    expect(noToken).toMatchObject({ status: 403, body: { code: 'VIGIL_ERR_FORBIDDEN' } });
    const foreign = await cardiologist.request('DELETE', `/api/patients/${cardio.patientId}/snoozes/bp.crisis`, undefined, { origin: 'https://evil.example' });
    expect(foreign.status).toBe(403);
    const ok = await cardiologist.request('DELETE', `/api/patients/${cardio.patientId}/snoozes/bp.crisis`, undefined, { origin: t.httpUrl });
    expect(ok.status).toBe(204);
  });

  it('shows a clinician only the patients of their care teams, and audits views and refusals with the address', async () => {
    const worklist = await cardiologist.request<{ entries: { patient: { id: string } }[]; teams: string[] }>('GET', '/api/worklist');
    expect(worklist.body.entries.map((e) => e.patient.id)).toEqual([cardio.patientId]);
    expect(worklist.body.teams).toEqual(['cardiology']);
    expect((await cardiologist.request('GET', `/api/patients/${cardio.patientId}`)).status).toBe(200);
    const denied = await cardiologist.request('GET', `/api/patients/${diabetes.patientId}`);
    // Another team's patient is answered as one that does not exist: the answer does not tell which ids do.
    expect(denied).toMatchObject({ status: 404, body: { code: 'VIGIL_ERR_NOT_FOUND' } });
    expect((await cardiologist.request('GET', `/api/patients/${diabetes.patientId}/readings?type=blood_pressure&from=2026-01-01T00:00:00Z`)).status).toBe(404);
    expect((await cardiologist.request('GET', '/api/users')).status).toBe(403);
    expect((await cardiologist.request('GET', '/api/audit')).status).toBe(403);
    const everyone = await admin.request<{ entries: unknown[] }>('GET', '/api/worklist');
    expect(everyone.body.entries).toHaveLength(2);

    const audit = await admin.request<{ entries: { actor: string; action: string; patientId: string | null; origin: string | null }[] }>('GET', '/api/audit?actor=user:card');
    const actions = audit.body.entries.map((e) => `${e.action} ${e.patientId ?? '-'}`);
    expect(actions).toEqual(expect.arrayContaining([`patient.view ${cardio.patientId}`, `access.denied ${diabetes.patientId}`, 'worklist.view -', 'login -']));
    expect(audit.body.entries.every((e) => e.origin === '127.0.0.1')).toBe(true);
  });

  it('pushes a new alert live within a second to the clinicians who may see it, and not to the others', async () => {
    const mine = await cardiologist.live();
    const other = await (await login(t.httpUrl, 'boss', PASSWORD)).live();
    await t.vigil.users.add({ username: 'diab', role: 'clinician', careTeams: ['diabetes-clinic'], password: PASSWORD });
    const outsider = await (await login(t.httpUrl, 'diab', PASSWORD)).live();
    const sentAt = Date.now();
    await crisis(cardio.client, cardio.deviceId, 195, 'live-1');
    const opened = await waitFor(() => mine.messages.find((m) => m.type === 'alert.opened'), { what: 'alert.opened on the live channel' });
    const latency = Date.now() - sentAt;
    expect((opened.alert as Alert).patientId).toBe(cardio.patientId);
    expect(opened.patientName).toMatch(/^Test Patient/);
    expect(typeof opened.seq).toBe('number');
    await waitFor(() => other.messages.find((m) => m.type === 'alert.opened'), { what: 'the admin to get it too' });
    await waitFor(() => mine.messages.find((m) => m.type === 'readings'), { what: 'the reading itself' });
    await new Promise((resolve) => setTimeout(resolve, 700));
    expect(outsider.messages.filter((m) => m.type !== 'ready')).toEqual([]);
    // Loose bound: "within a second" on a shared 2-core machine; the benchmark measures it properly.
    expect(latency).toBeLessThan(5_000);
    for (const c of [mine, other, outsider]) c.close();
  });

  it('replays what a client missed while disconnected, from the last sequence number it saw', async () => {
    const first = await cardiologist.live();
    const opened = await (async () => {
      await crisis(cardio.client, cardio.deviceId, 210, 'replay-1');
      return waitFor(() => first.messages.find((m) => m.type?.startsWith('alert.') && (m.alert as Alert).worstValues?.systolic === 210), { what: 'the worse reading' });
    })();
    const lastSeen = opened.seq!;
    first.close();
    await first.closed;
    // While away: a colleague acknowledges it through the API.
    const alert = opened.alert as Alert;
    const ack = await cardiologist.request<{ alert: Alert }>('POST', `/api/alerts/${alert.id}/acknowledge`, { note: 'called the patient' });
    expect(ack.body.alert).toMatchObject({ status: 'acknowledged', acknowledgedBy: 'user:card', acknowledgeNote: 'called the patient' });
    const again = await cardiologist.live(lastSeen);
    const replayed = await waitFor(() => again.messages.find((m) => m.type === 'alert.acknowledged'), { what: 'the replayed acknowledgement' });
    expect(replayed.seq!).toBeGreaterThan(lastSeen);
    const ready = again.messages.find((m) => m.type === 'ready')!;
    expect(again.messages.indexOf(replayed)).toBeLessThan(again.messages.indexOf(ready));
    again.close();
    const audit = await admin.request<{ entries: { action: string; target: string; origin: string }[] }>('GET', `/api/audit?patient=${cardio.patientId}&action=alert.acknowledged`);
    expect(audit.body.entries[0]).toMatchObject({ target: `alert:${alert.id}`, origin: '127.0.0.1' });
  });

  it('refuses the live channel without a session and from another origin', async () => {
    await expect(openLive(t.httpUrl, {})).rejects.toThrow(/401/);
    await expect(openLive(t.httpUrl, { cookie: cardiologist.cookie, origin: 'https://evil.example' })).rejects.toThrow(/403/);
    const integration = await openLive(t.httpUrl, { authorization: `Bearer ${TOKEN}` });
    integration.close();
  });

  it('serves readings for charts: raw over two days, aggregated beyond', async () => {
    const from = new Date(Date.now() - 86_400_000).toISOString();
    // Alerts open at the outbox commit; the store has the readings once the shipper has been by.
    const raw = await waitFor(async () => {
      const r = await cardiologist.request<{ bucketMs: number | null; points: { mean: Record<string, number> }[] }>('GET', `/api/patients/${cardio.patientId}/readings?type=blood_pressure&from=${from}`);
      return r.body.points.some((p) => p.mean.systolic === 210) ? r : undefined;
    }, { what: 'both crisis readings stored' });
    expect(raw.body.bucketMs).toBeNull();
    expect(raw.body.points.map((p) => p.mean.systolic)).toEqual(expect.arrayContaining([195, 210]));
    const year = new Date(Date.now() - 365 * 86_400_000).toISOString();
    const agg = await cardiologist.request<{ bucketMs: number; points: { mean: Record<string, number>; max: Record<string, number> }[] }>('GET', `/api/patients/${cardio.patientId}/readings?type=blood_pressure&from=${year}`);
    expect(agg.body.bucketMs).toBe(86_400_000);
    expect(agg.body.points).toHaveLength(1);
    expect(agg.body.points[0]!.max.systolic).toBe(210);
    expect(agg.headers.get('cache-control')).toBe('no-store');
    const views = async (patientId: string) => (await admin.request<{ entries: unknown[] }>('GET', `/api/audit?patient=${patientId}&action=patient.view&actor=user:card`)).body.entries.length;
    // A client header cannot hide an access: a first view sent as if it were a background refresh is audited.
    const unseen = await t.vigil.registry.addPatient({ name: 'Never Opened', careTeam: 'cardiology' });
    expect((await cardiologist.request('GET', `/api/patients/${unseen.id}`, undefined, { 'x-vigil-background': '1' })).status).toBe(200);
    expect(await views(unseen.id)).toBe(1);
    // The server decides what is a repeat: the same session viewing the same record again soon is one view.
    const detail = await cardiologist.request<{ thresholds: { readingType: string; field: string; value: number; severity: string }[] }>('GET', `/api/patients/${unseen.id}`);
    expect((await cardiologist.request('GET', `/api/patients/${unseen.id}`, undefined, { 'x-vigil-background': '1' })).status).toBe(200);
    expect(await views(unseen.id)).toBe(1);
    // Another person's view of it is their own entry.
    expect((await admin.request('GET', `/api/patients/${unseen.id}`)).status).toBe(200);
    expect((await admin.request<{ entries: unknown[] }>('GET', `/api/audit?patient=${unseen.id}&action=patient.view`)).body.entries).toHaveLength(2);
    expect(detail.body.thresholds).toEqual(expect.arrayContaining([expect.objectContaining({ readingType: 'blood_pressure', field: 'systolic', value: 180, severity: 'critical' })]));
  });

  it('locks an account after repeated failures, audits it, and an administrator unlocks it', async () => {
    for (let i = 0; i < 2; i++) expect((await call(t.httpUrl, 'POST', '/api/session', { username: 'victim', password: 'wrong password!' })).body).toMatchObject({ code: 'VIGIL_ERR_LOGIN_FAILED' });
    // Locked, the account answers exactly as a user name that does not exist: nothing tells them apart.
    const locking = await call(t.httpUrl, 'POST', '/api/session', { username: 'victim', password: 'wrong password!' });
    const locked = await call(t.httpUrl, 'POST', '/api/session', { username: 'victim', password: PASSWORD });
    const unknown = await call(t.httpUrl, 'POST', '/api/session', { username: 'nobody', password: 'whatever it is' });
    for (const answer of [locking, locked]) expect({ status: answer.status, body: answer.body }).toEqual({ status: unknown.status, body: unknown.body });
    expect(unknown.status).toBe(401);
    await t.vigil.users.unlock('victim');
    expect((await call(t.httpUrl, 'POST', '/api/session', { username: 'victim', password: PASSWORD })).status).toBe(200);
    const audit = await admin.request<{ entries: { action: string }[] }>('GET', '/api/audit?actor=user:victim');
    expect(audit.body.entries.map((e) => e.action)).toEqual(['login', 'login.refused', 'login.locked', 'login.failed', 'login.failed']);
  });

  it('ends the sessions of a disabled user at once', async () => {
    const session = await login(t.httpUrl, 'victim', PASSWORD);
    const live = await session.live();
    const disabled = await admin.request('PATCH', '/api/users/victim', { disabled: true });
    expect(disabled.status).toBe(200);
    expect((await session.request('GET', '/api/worklist')).status).toBe(401);
    expect(await live.closed).toMatchObject({ code: 4401 });
  });

  it('ends the sessions of a user whose care teams are narrowed, closing their live channel', async () => {
    await t.vigil.users.add({ username: 'mover', role: 'clinician', careTeams: ['cardiology', 'community'], password: PASSWORD });
    const session = await login(t.httpUrl, 'mover', PASSWORD);
    const live = await session.live();
    expect((await admin.request('PATCH', '/api/users/mover', { careTeams: ['community'] })).status).toBe(200);
    expect((await session.request('GET', '/api/worklist')).status).toBe(401);
    expect(await live.closed).toMatchObject({ code: 4401 });
  });

  it('exports the audit log as CSV for administrators, and documents the API with OpenAPI', async () => {
    const csv = await admin.request<string>('GET', '/api/audit/export?format=csv');
    expect(csv.headers.get('content-disposition')).toMatch(/attachment; filename="vigil-audit-.*\.csv"/);
    const lines = csv.body.trim().split('\n');
    expect(lines[0]).toBe('id,at,actor,origin,action,patient_id,target,details');
    expect(lines.some((l) => l.includes(',user:card,127.0.0.1,patient.view,'))).toBe(true);
    const spec = await call<{ openapi: string; paths: Record<string, unknown> }>(t.httpUrl, 'GET', '/api/docs/json');
    expect(spec.body.openapi).toMatch(/^3\./);
    expect(Object.keys(spec.body.paths)).toEqual(expect.arrayContaining(['/api/worklist', '/api/alerts/{id}/acknowledge', '/api/patients/{patientId}/readings', '/api/audit/export', '/api/session']));
  });

  it('sends security headers with the page', async () => {
    const page = await call<string>(t.httpUrl, 'GET', '/');
    expect(page.status).toBe(200);
    expect(page.headers.get('content-security-policy')).toMatch(/default-src 'self'.*frame-ancestors 'none'/);
    expect(page.headers.get('x-content-type-options')).toBe('nosniff');
    expect(page.headers.get('referrer-policy')).toBe('no-referrer');
  });
});

describe('login rate limit', () => {
  let t: TestVigil;
  beforeAll(async () => {
    // Logins are counted per address in fixed one-minute windows, opened by the address's first login. Beside the
    // other tests' logins the window was opened long before, and on a busy machine it ended halfway through the
    // loop, whose later logins then had a fresh allowance. Here the test's own first login opens it, and all its
    // logins, within the 60 s test timeout, fall in that one window whatever the machine's speed.
    t = await startTestVigil({ VIGIL_LOGIN_RATE_PER_MINUTE: '2' });
  });
  afterAll(async () => {
    await t?.stop();
  });

  it('rate-limits logins from one address, and not from another', async () => {
    const nobody = { username: 'nobody', password: 'whatever it is' };
    const statuses: number[] = [];
    for (let i = 0; i < 3; i++) statuses.push((await call(t.httpUrl, 'POST', '/api/session', nobody)).status);
    expect(statuses).toEqual([401, 401, 429]);
    expect(await postFrom(t.vigil.httpPort, '127.0.0.2', '/api/session', nobody)).toBe(401);
  });
});
