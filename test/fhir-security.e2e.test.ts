import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, login, openLive, type DashboardSession } from './support/dashboard-client.js';
import { everyReadingType } from './support/fhir-readings.js';
import { fhirErrors } from './support/fhir-validator.js';
import { waitFor } from './support/temp.js';
import { startTestVigil, type TestVigil } from './support/vigil.js';

const PASSWORD = 'correct horse battery staple';
type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/**
 * /fhir and the personal API tokens as an adversary uses them (docs/security.md, "FHIR and API tokens"): another
 * care team's patient through every route and parameter trick, malformed and extreme parameters, credentials in the
 * wrong place, what tokens can do, rate limits, the live channel after the user changes, and what reaches the logs.
 */
describe('FHIR and API tokens under attack', () => {
  let t: TestVigil;
  let admin: DashboardSession;
  let card: string;
  let onco: string;
  let chiefToken: string;
  let patientId: string;
  let otherPatient: string;
  const log = new PassThrough();
  let logText = '';
  log.on('data', (chunk: Buffer) => (logText += chunk.toString()));
  const fhir = (path: string, auth: string | null, headers: Record<string, string> = {}) =>
    call<Json>(t.httpUrl, 'GET', `/fhir${path}`, undefined, { ...(auth === null ? {} : { authorization: `Bearer ${auth}` }), ...headers });
  const newToken = async (username: string) => (await admin.request<{ token: string; apiToken: { id: number } }>('POST', `/api/users/${username}/tokens`, { label: `for ${username}` })).body;

  beforeAll(async () => {
    // Info level, as production runs: the request log is part of what is checked for PHI and tokens.
    t = await startTestVigil({ VIGIL_LOG_LEVEL: 'info', VIGIL_API_RATE_PER_MINUTE: '10000' }, undefined, { log });
    const dev = await t.provision('cuff_1');
    patientId = dev.patientId;
    await t.vigil.registry.setCareTeam(patientId, 'cardiology');
    otherPatient = (await t.provision('cuff_2')).patientId;
    await t.vigil.registry.setCareTeam(otherPatient, 'oncology');
    await t.vigil.users.add({ username: 'chief', role: 'admin', password: PASSWORD });
    await t.vigil.users.add({ username: 'card', role: 'clinician', careTeams: ['cardiology'], password: PASSWORD });
    await t.vigil.users.add({ username: 'onco', role: 'clinician', careTeams: ['oncology'], password: PASSWORD });
    admin = await login(t.httpUrl, 'chief', PASSWORD);
    card = (await newToken('card')).token;
    onco = (await newToken('onco')).token;
    chiefToken = (await newToken('chief')).token;
    const client = await t.connectDevice(dev);
    const readings = everyReadingType(Date.now() - 3 * 3_600_000);
    await client.publishAsync(`rpm/v1/devices/${dev.deviceId}/readings`, JSON.stringify(readings), { qos: 1 });
    await waitFor(async () => ((await fhir(`/Observation?patient=${patientId}`, card)).body.entry?.length ?? 0) === readings.length, { what: 'the readings in the store' });
  });
  afterAll(async () => {
    await t?.stop();
  });

  it('never shows another care team\'s patient, whatever the route, parameter, spelling or page', async () => {
    const other = otherPatient.replaceAll('_', '.');
    const forbidden = [
      `/Patient/${other}`,
      `/Patient/${other.toUpperCase()}`,
      `/Patient/${encodeURIComponent(other)}`,
      `/Observation?patient=${other}`,
      `/Observation?patient=Patient/${other}`,
      `/Observation?patient=${other}&_offset=0&_count=1000`,
      `/Flag?patient=${other}`,
      `/Device?patient=${other}`,
      '/Device/cuff.2',
    ];
    for (const path of forbidden) {
      const res = await fhir(path, card);
      // Answered as an id that does not exist: a 403 would say that it does.
      expect(res.status, path).toBe(404);
      expect(res.body.resourceType, path).toBe('OperationOutcome');
      expect(JSON.stringify(res.body), path).not.toContain('Test Patient');
      expect(JSON.stringify(res.body), path).not.toContain('care team');
    }
    // The same answer as for ids nobody has.
    const strip = (body: Json) => JSON.stringify(body).replaceAll(other, 'X').replaceAll('cuff.2', 'X').replaceAll('nobody', 'X');
    expect(strip((await fhir(`/Patient/${other}`, card)).body)).toBe(strip((await fhir('/Patient/nobody', card)).body));
    expect(strip((await fhir('/Device/cuff.2', card)).body)).toBe(strip((await fhir('/Device/nobody', card)).body));
    // Two patients in one parameter, or the parameter twice, is refused rather than half applied.
    expect((await fhir(`/Observation?patient=${patientId}&patient=${other}`, card)).status).toBe(400);
    expect((await fhir(`/Observation?patient=${patientId},${other}`, card)).status).toBe(404);
    // Searches list only the caller's patients, however they are asked for, on any page.
    for (const query of [`_id=${other}`, `identifier=${other}`, `identifier=urn:vigil:patient-id|${otherPatient}`, 'name=test', 'name=Test%20Patient', '_offset=1', '_count=1000']) {
      const res = await fhir(`/Patient?${query}`, card);
      expect(res.status, query).toBe(200);
      expect(JSON.stringify(res.body.entry ?? []), query).not.toContain(other);
    }
    const devices = await fhir('/Device?_count=1000', card);
    expect(devices.body.entry.map((e: Json) => e.resource.id)).toEqual(['cuff.1']);
    const exported = await call<Json>(t.httpUrl, 'GET', `/api/patients/${otherPatient}/export/fhir`, undefined, { authorization: `Bearer ${card}` });
    expect(exported.status).toBe(404);
    // A device assigned to nobody is for administrators; a clinician's attempt is refused and audited like a patient's.
    await t.vigil.registry.addDevice({ patientId, id: 'spare_1' });
    await t.vigil.registry.assignDevice('spare_1', null);
    expect((await fhir('/Device/spare.1', card)).status).toBe(404);
    const denied = await admin.request<{ entries: Json[] }>('GET', '/api/audit?action=access.denied');
    expect(denied.body.entries.some((e) => e.target === 'fhir:/fhir/Device/spare.1' && String(e.actor).startsWith('user:card/token:'))).toBe(true);
  });

  it('answers malformed and extreme parameters with a 400 OperationOutcome, never a 500 or a stack', async () => {
    const bad = [
      `/Observation?patient=${patientId}&_count=0`,
      `/Observation?patient=${patientId}&_count=1001`,
      `/Observation?patient=${patientId}&_count=-1`,
      `/Observation?patient=${patientId}&_count=1e3`,
      `/Observation?patient=${patientId}&_count=99999999999999999999`,
      `/Observation?patient=${patientId}&_offset=-5`,
      `/Observation?patient=${patientId}&_offset=abc`,
      `/Observation?patient=${patientId}&_count=10&_count=20`,
      `/Observation?patient=${patientId}&date=2026-13-01`,
      `/Observation?patient=${patientId}&date=2026-02-30`,
      `/Observation?patient=${patientId}&date=2026-11-28T25:00Z`,
      `/Observation?patient=${patientId}&date=2026-11-28T10:00`,
      `/Observation?patient=${patientId}&date=${'9'.repeat(500)}`,
      `/Observation?patient=${patientId}&date=ap2026`,
      `/Observation?patient=${patientId}&code=a&code=b`,
      `/Observation?patient=${patientId}&patient%5B%5D=x`,
      `/Observation?patient=${patientId}&_format=xml`,
      `/Observation?patient=Patient/a/b`,
      `/Flag?patient=${patientId}&status=entered-in-error`,
    ];
    for (const path of bad) {
      const res = await fhir(path, card);
      expect(res.status, path).toBe(400);
      expect(res.body.resourceType, path).toBe('OperationOutcome');
      expect(fhirErrors(res.body as Json & { resourceType: string }), path).toEqual([]);
      expect(JSON.stringify(res.body), path).not.toMatch(/\bat .+\.(ts|js):\d+/);
    }
    for (const path of [`/Patient/${'a'.repeat(5000)}`, '/Patient/%E0%A4%A', '/Patient/%00', '/Patient/..%2F..%2Fmetadata', '/Flag/alert-99999999999999999999', '/Flag/1', '/Device/%E2%80%AE']) {
      const res = await fhir(path, card);
      expect([400, 404], path).toContain(res.status);
      expect(res.body.resourceType, path).toBe('OperationOutcome');
    }
    // The JSON API answers a URL Fastify cannot decode in its own error body too.
    const api = await call<Json>(t.httpUrl, 'GET', '/api/patients/%E0%A4%A', undefined, { authorization: `Bearer ${card}` });
    expect(api.status).toBe(400);
    expect(api.body).toMatchObject({ code: 'VIGIL_ERR_BAD_REQUEST' });
    // Many repeated date bounds are cheap (intersected one by one), and a period that ends before it starts is empty.
    const many = Array.from({ length: 200 }, (_, i) => `date=ge20${String(i % 90).padStart(2, '0')}`).join('&');
    const repeated = await fhir(`/Observation?patient=${patientId}&${many}`, card);
    expect(repeated.status).toBe(200);
    // Paging is by offset, and a deep page builds every resource before it: the depth is bounded.
    expect((await fhir(`/Observation?patient=${patientId}&_offset=100000`, card)).status).toBe(200);
    const offsetFar = await fhir(`/Observation?patient=${patientId}&_offset=999999999`, card);
    expect(offsetFar.status).toBe(400);
    expect(offsetFar.body.issue[0].details.text).toMatch(/narrow the search with date/);
  });

  it('takes credentials only where they belong: no token as a cookie, no session id as a bearer, no other schemes', async () => {
    const cookieSession = await login(t.httpUrl, 'card', PASSWORD);
    const sessionId = cookieSession.cookie.split('=')[1]!;
    expect((await fhir(`/Patient/${patientId}`, null, { cookie: `vigil_session=${card}` })).status).toBe(401);
    expect((await fhir(`/Patient/${patientId}`, sessionId)).status).toBe(401);
    expect((await fhir(`/Patient/${patientId}`, null, { authorization: `Basic ${Buffer.from(`card:${card}`).toString('base64')}` })).status).toBe(401);
    expect((await fhir(`/Patient/${patientId}`, card.slice(0, -1))).status).toBe(401);
    // The token names no user: 256 random bits after the prefix.
    expect(card).toMatch(/^vigil_pat_[A-Za-z0-9_-]{43}$/);
    expect(card).not.toContain('card');
  });

  it('trusts no client header for the audit: a token\'s actor is its user and token, whatever X-Vigil-Actor says', async () => {
    await fhir(`/Patient/${patientId}?`, card, { 'x-vigil-actor': 'mallory', 'x-forwarded-for': '203.0.113.9' });
    const audit = await admin.request<{ entries: Json[] }>('GET', `/api/audit?action=fhir.read&patient=${patientId}`);
    expect(audit.body.entries.length).toBeGreaterThan(0);
    for (const entry of audit.body.entries) {
      expect(entry.actor).toMatch(/^user:card\/token:\d+$/);
      expect(JSON.stringify(entry)).not.toContain('mallory');
      expect(JSON.stringify(entry)).not.toContain('203.0.113.9');
    }
  });

  it('audits each of a user\'s tokens on its own: a second token\'s read is not hidden as the first one\'s repeat', async () => {
    await t.vigil.users.add({ username: 'twin', role: 'clinician', careTeams: ['cardiology'], password: PASSWORD });
    const first = await newToken('twin');
    const second = await newToken('twin');
    expect((await fhir(`/Flag?patient=${patientId}`, first.token)).status).toBe(200);
    expect((await fhir(`/Flag?patient=${patientId}`, second.token)).status).toBe(200);
    const audit = await admin.request<{ entries: Json[] }>('GET', `/api/audit?action=fhir.search&patient=${patientId}`);
    const actors = audit.body.entries.filter((e) => e.target === 'Flag').map((e) => e.actor);
    expect(actors).toEqual(expect.arrayContaining([`user:twin/token:${first.apiToken.id}`, `user:twin/token:${second.apiToken.id}`]));
  });

  it('does not let a personal API token manage API tokens or users, even an administrator\'s: a leaked token cannot mint another credential', async () => {
    const made = await call<Json>(t.httpUrl, 'POST', '/api/users/chief/tokens', { label: 'persistence' }, { authorization: `Bearer ${chiefToken}` });
    expect(made.status).toBe(403);
    expect(made.body.code).toBe('VIGIL_ERR_FORBIDDEN');
    const list = await call<Json>(t.httpUrl, 'GET', '/api/users/card/tokens', undefined, { authorization: `Bearer ${chiefToken}` });
    expect(list.status).toBe(403);
    const revoke = await call<Json>(t.httpUrl, 'DELETE', '/api/users/card/tokens/1', undefined, { authorization: `Bearer ${chiefToken}` });
    expect(revoke.status).toBe(403);
    // Nor another credential: a new user with a password, or a new password for an existing one.
    const user = await call<Json>(t.httpUrl, 'POST', '/api/users', { username: 'backdoor', role: 'admin', password: PASSWORD }, { authorization: `Bearer ${chiefToken}` });
    expect(user.status).toBe(403);
    const password = await call<Json>(t.httpUrl, 'PATCH', '/api/users/chief', { password: 'a brand new passphrase here' }, { authorization: `Bearer ${chiefToken}` });
    expect(password.status).toBe(403);
    expect(await t.vigil.users.byUsername('backdoor')).toBeUndefined();
    // Its other administrator rights are the user's, as documented.
    expect((await fhir(`/Patient/${otherPatient}`, chiefToken)).status).toBe(200);
  });

  it('audits a refused bearer token (wrong, revoked, expired, disabled user) with the token it named, never the token', async () => {
    const extra = await newToken('card');
    expect((await admin.request('DELETE', `/api/users/card/tokens/${extra.apiToken.id}`)).status).toBe(204);
    expect((await fhir(`/Patient/${patientId}`, extra.token)).status).toBe(401);
    expect((await fhir(`/Patient/${patientId}`, 'vigil_pat_guessed')).status).toBe(401);
    const refused = await admin.request<{ entries: Json[] }>('GET', '/api/audit?action=access.refused');
    const revoked = refused.body.entries.find((e) => e.details?.tokenId === extra.apiToken.id);
    expect(revoked).toMatchObject({ target: 'user:card', details: { reason: 'revoked' } });
    expect(refused.body.entries.some((e) => e.details?.reason === 'unknown')).toBe(true);
    expect(JSON.stringify(refused.body)).not.toContain(extra.token);
    expect(JSON.stringify(refused.body)).not.toContain('vigil_pat_guessed');
  });

  it('closes a token\'s live channel when the user\'s care teams or role change, not only when the token is revoked', async () => {
    await t.vigil.users.add({ username: 'float', role: 'clinician', careTeams: ['cardiology'], password: PASSWORD });
    const float = await newToken('float');
    const live = await openLive(t.httpUrl, { authorization: `Bearer ${float.token}` });
    await t.vigil.users.update('float', { careTeams: ['oncology'] });
    const closed = await Promise.race([live.closed, new Promise<null>((resolve) => setTimeout(() => resolve(null), 15_000))]);
    expect(closed?.code).toBe(4009);
    // Reconnected, it sees what the user may see now; revoked, it is closed for good.
    const again = await openLive(t.httpUrl, { authorization: `Bearer ${float.token}` });
    expect((await admin.request('DELETE', `/api/users/float/tokens/${float.apiToken.id}`)).status).toBe(204);
    const ended = await Promise.race([again.closed, new Promise<null>((resolve) => setTimeout(() => resolve(null), 15_000))]);
    expect(ended?.code).toBe(4401);
  });

  it('keeps tokens, patient names and query strings out of the log', async () => {
    await fhir('/Patient?name=Test%20Patient', card);
    await fhir(`/Patient/${patientId}`, 'vigil_pat_wrong-token-in-log');
    expect(logText.length).toBeGreaterThan(0);
    expect(logText).toContain('/fhir/Patient');
    for (const secret of [card, onco, chiefToken, 'vigil_pat_wrong-token-in-log', 'Test Patient', 'name=']) expect(logText).not.toContain(secret);
  });
});

describe('FHIR and bearer-token rate limits', () => {
  let t: TestVigil;
  beforeAll(async () => {
    t = await startTestVigil({ VIGIL_API_RATE_PER_MINUTE: '5' });
  });
  afterAll(async () => {
    await t?.stop();
  });

  it('answers /fhir beyond the limit with 429 and a throttled OperationOutcome, credentials or not', async () => {
    const statuses: number[] = [];
    let last: Json = {};
    for (let i = 0; i < 7; i++) {
      const res = await call<Json>(t.httpUrl, 'GET', '/fhir/Patient', undefined, { authorization: 'Bearer vigil_pat_guess' });
      statuses.push(res.status);
      last = res.body;
      if (res.status === 429) expect(res.headers.get('retry-after')).toMatch(/^\d+$/);
    }
    expect(statuses.slice(0, 5)).toEqual([401, 401, 401, 401, 401]);
    expect(statuses.slice(5)).toEqual([429, 429]);
    expect(last.resourceType).toBe('OperationOutcome');
    expect(last.issue[0].code).toBe('throttled');
    expect(last.issue[0].details.coding[0].code).toBe('VIGIL_ERR_RATE_LIMITED');
  });

  it('limits bearer-token requests to the JSON API, not the dashboard page\'s session requests', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 7; i++) statuses.push((await call(t.httpUrl, 'GET', '/api/patients', undefined, { authorization: 'Bearer vigil_pat_guess' })).status);
    expect(statuses.slice(5)).toEqual([429, 429]);
    // The FHIR export is on the JSON API, served by the interop component: limited the same way.
    const exports: number[] = [];
    for (let i = 0; i < 7; i++) exports.push((await call(t.httpUrl, 'GET', '/api/patients/p-1/export/fhir', undefined, { authorization: 'Bearer vigil_pat_guess' })).status);
    expect(exports.slice(5)).toEqual([429, 429]);
    await t.vigil.users.add({ username: 'nurse', role: 'clinician', careTeams: ['ward'], password: PASSWORD });
    const nurse = await login(t.httpUrl, 'nurse', PASSWORD);
    for (let i = 0; i < 7; i++) expect((await nurse.request('GET', '/api/patients')).status).toBe(200);
  });
});
