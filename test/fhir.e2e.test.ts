import { execFile } from 'node:child_process';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiTokenSchema, newApiTokenSchema } from '../domain/index.js';
import { call, login, type DashboardSession } from './support/dashboard-client.js';
import { everyReadingType } from './support/fhir-readings.js';
import { fhirErrors } from './support/fhir-validator.js';
import { tempDir, waitFor } from './support/temp.js';
import { CLI } from './support/vigil-process.js';
import { startTestVigil, type TestVigil } from './support/vigil.js';

const exec = promisify(execFile);
const PASSWORD = 'correct horse battery staple';
const LOINC = 'http://loinc.org';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
type Entry = { fullUrl: string; resource: Json; search?: { mode: string } };
type Bundle = { resourceType: 'Bundle'; type: string; link?: { relation: string; url: string }[]; entry?: Entry[]; total?: number };

const codesOf = (r: Json): string[] => (r.code?.coding ?? []).map((c: Json) => c.code);

/**
 * FHIR R4 out over real HTTP against a running Vigil whose readings came in over MQTT (issue 17): every answer is
 * validated against HL7's StructureDefinitions; auth by personal API token (API and CLI) and session cookie, care
 * team scoping, audit, OperationOutcome errors, paging, and the collection export (API and CLI).
 */
describe('FHIR R4: /fhir over HTTP, readings published over MQTT', () => {
  let t: TestVigil;
  let admin: DashboardSession;
  let card: DashboardSession;
  let patientId: string;
  let deviceId: string;
  let token: string;
  let tokenId: number;
  const t0 = Date.now() - 3 * 3_600_000;
  const at = (minutes: number) => new Date(t0 + minutes * 60_000).toISOString();
  /** A GET on /fhir with the clinician's API token, another token, or none (null). */
  const fhir = (path: string, auth: string | null = token) => call<Json>(t.httpUrl, 'GET', `/fhir${path}`, undefined, auth === null ? {} : { authorization: `Bearer ${auth}` });

  beforeAll(async () => {
    t = await startTestVigil();
    const dev = await t.provision('cuff_1');
    ({ patientId, deviceId } = dev);
    await t.vigil.registry.setCareTeam(patientId, 'cardiology');
    await t.vigil.users.add({ username: 'chief', role: 'admin', password: PASSWORD });
    await t.vigil.users.add({ username: 'card', role: 'clinician', careTeams: ['cardiology'], password: PASSWORD });
    await t.vigil.users.add({ username: 'onco', role: 'clinician', careTeams: ['oncology'], password: PASSWORD });
    admin = await login(t.httpUrl, 'chief', PASSWORD);
    card = await login(t.httpUrl, 'card', PASSWORD);
    const client = await t.connectDevice(dev);
    const readings = everyReadingType(t0);
    await client.publishAsync(`rpm/v1/devices/${deviceId}/readings`, JSON.stringify(readings), { qos: 1 });
    const created = await admin.request<{ token: string; apiToken: { id: number } }>('POST', '/api/users/card/tokens', { label: 'EHR interface' });
    expect(created.status).toBe(201);
    ({ token } = created.body);
    tokenId = created.body.apiToken.id;
    await waitFor(async () => ((await fhir(`/Observation?patient=${patientId}`)).body.entry?.length ?? 0) === readings.length, { what: 'the readings in the store' });
    await waitFor(async () => ((await fhir(`/Flag?patient=${patientId}`)).body.entry?.length ?? 0) > 0, { what: 'the crisis alert' });
  });
  afterAll(async () => {
    await t?.stop();
  });

  it('serves a valid CapabilityStatement at /fhir/metadata, without credentials', async () => {
    const res = await fhir('/metadata', null);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/fhir\+json/);
    expect(fhirErrors(res.body as Json & { resourceType: string })).toEqual([]);
    expect(res.body.fhirVersion).toBe('4.0.1');
    const types = (res.body.rest[0].resource as Json[]).map((r) => `${r.type}:${r.interaction.map((i: Json) => i.code).join('+')}`);
    expect(types).toEqual(['Patient:read+search-type', 'Observation:search-type', 'Device:read+search-type', 'Flag:read+search-type']);
  });

  it('answers an Observation search with a valid searchset: LOINC, UCUM, one blood pressure panel per reading, the device', async () => {
    const res = await fhir(`/Observation?patient=Patient/${patientId}`);
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('no-store');
    const bundle = res.body as Bundle;
    expect(fhirErrors(bundle as Json & { resourceType: string })).toEqual([]);
    expect(bundle.type).toBe('searchset');
    const all = bundle.entry!.map((e) => e.resource);
    expect(all.map((o) => o.effectiveDateTime)).toEqual([...all.map((o) => o.effectiveDateTime)].sort());
    const bps = all.filter((o) => codesOf(o).includes('85354-9'));
    expect(bps).toHaveLength(2);
    expect(bps[1]!.component.map((c: Json) => [codesOf(c)[0], c.valueQuantity.value, c.valueQuantity.code])).toEqual([
      ['8480-6', 205, 'mm[Hg]'],
      ['8462-4', 124, 'mm[Hg]'],
      ['8867-4', 96, '/min'],
    ]);
    expect(bps[1]!.note).toEqual([{ text: 'Irregular heartbeat detected by the device' }]);
    expect(bps[1]!.meta.profile).toEqual(['http://hl7.org/fhir/StructureDefinition/bp']);
    expect(bps[1]!.category[0].coding[0].code).toBe('vital-signs');
    // Converted to the stored units on the way in: 181.5 lb, 6.2 mmol/L, 99.1 degF.
    const value = (code: string) => all.find((o) => codesOf(o).includes(code))!.valueQuantity;
    expect(value('29463-7')).toEqual({ value: 82.327, unit: 'kg', system: 'http://unitsofmeasure.org', code: 'kg' });
    expect(value('41653-7')).toMatchObject({ value: 111.7, code: 'mg/dL' });
    expect(value('99504-3')).toMatchObject({ value: 140, code: 'mg/dL' });
    expect(value('8310-5')).toMatchObject({ value: 37.28, code: 'Cel' });
    expect(value('2708-6')).toMatchObject({ value: 95, code: '%' });
    // The device reference resolves, to a valid Device of this patient.
    const device = await fhir(`/${bps[0]!.device.reference}`);
    expect(device.status).toBe(200);
    expect(fhirErrors(device.body as Json & { resourceType: string })).toEqual([]);
    expect(device.body).toMatchObject({ resourceType: 'Device', id: 'cuff.1', status: 'active', patient: { reference: `Patient/${patientId}` } });
    expect(bundle.entry!.every((e) => e.fullUrl === `${t.httpUrl}/fhir/Observation/${e.resource.id}` && e.search?.mode === 'match')).toBe(true);
  });

  it('filters by code (with or without system) and by date with prefixes', async () => {
    const hr = (await fhir(`/Observation?patient=${patientId}&code=${encodeURIComponent(`${LOINC}|8867-4`)}`)).body as Bundle;
    expect(hr.entry!.map((e) => e.resource.valueQuantity.value)).toEqual([66]);
    const bare = (await fhir(`/Observation?patient=${patientId}&code=85354-9,99504-3`)).body as Bundle;
    expect(bare.entry!.map((e) => codesOf(e.resource)[0])).toEqual(['85354-9', '85354-9', '99504-3']);
    expect(((await fhir(`/Observation?patient=${patientId}&code=${encodeURIComponent('http://snomed.info/sct|8867-4')}`)).body as Bundle).entry).toEqual([]);
    const window = (await fhir(`/Observation?patient=${patientId}&date=ge${encodeURIComponent(at(10))}&date=lt${encodeURIComponent(at(30))}`)).body as Bundle;
    expect(window.entry!.map((e) => e.resource.effectiveDateTime)).toEqual([at(10), at(20), at(25), at(26)]);
    const vitals = (await fhir(`/Observation?patient=${patientId}&category=vital-signs&date=gt${encodeURIComponent(at(40))}`)).body as Bundle;
    expect(vitals.entry!.map((e) => codesOf(e.resource)[0])).toEqual(['8867-4', '8310-5']);
  });

  it('pages with _count and the next links until every Observation was seen once', async () => {
    const seen: string[] = [];
    let url: string | undefined = `/Observation?patient=${patientId}&_count=3`;
    for (let pages = 0; url && pages < 10; pages++) {
      const page = (await fhir(url)).body as Bundle;
      expect(fhirErrors(page as Json & { resourceType: string })).toEqual([]);
      expect(page.entry!.length).toBeLessThanOrEqual(3);
      seen.push(...page.entry!.map((e) => e.resource.id as string));
      const next = page.link!.find((l) => l.relation === 'next')?.url;
      url = next ? next.slice(`${t.httpUrl}/fhir`.length) : undefined;
    }
    const all = ((await fhir(`/Observation?patient=${patientId}`)).body as Bundle).entry!.map((e) => e.resource.id);
    expect(seen).toEqual(all);
    expect(new Set(seen).size).toBe(11);
  });

  it('serves the Patient, Devices and the alert as a Flag, each valid', async () => {
    const patient = await fhir(`/Patient/${patientId}`);
    expect(patient.status).toBe(200);
    expect(fhirErrors(patient.body as Json & { resourceType: string })).toEqual([]);
    expect(patient.body.identifier).toEqual([{ system: 'urn:vigil:patient-id', value: patientId }]);
    const byName = (await fhir(`/Patient?name=${encodeURIComponent('test pat')}`)).body as Bundle;
    expect(byName.entry!.map((e) => e.resource.id)).toEqual([patientId]);
    expect(fhirErrors(byName as Json & { resourceType: string })).toEqual([]);
    const devices = (await fhir(`/Device?patient=${patientId}`)).body as Bundle;
    expect(devices.entry!.map((e) => e.resource.id)).toEqual(['cuff.1']);
    const flags = (await fhir(`/Flag?patient=${patientId}&status=active`)).body as Bundle;
    expect(fhirErrors(flags as Json & { resourceType: string })).toEqual([]);
    const crisis = flags.entry!.map((e) => e.resource).find((f) => String(f.code.text).startsWith('Severe hypertension'))!;
    expect(crisis).toMatchObject({ status: 'active', subject: { reference: `Patient/${patientId}` } });
    expect(crisis.extension[0].valueCodeableConcept.coding[0].code).toBe('PH');
    expect((await fhir(`/Flag/${crisis.id}`)).body).toEqual(crisis);
    expect(((await fhir(`/Flag?patient=${patientId}&status=inactive`)).body as Bundle).entry).toEqual([]);
  });

  it('answers errors as OperationOutcome with the right status, and audits a refused patient', async () => {
    const check = async (path: string, auth: string | null, status: number, type: string) => {
      const res = await fhir(path, auth);
      expect(res.status, path).toBe(status);
      expect(res.headers.get('content-type')).toMatch(/^application\/fhir\+json/);
      expect(res.body.resourceType).toBe('OperationOutcome');
      expect(res.body.issue[0].code, path).toBe(type);
      expect(fhirErrors(res.body as Json & { resourceType: string })).toEqual([]);
      return res;
    };
    const unauthenticated = await check(`/Observation?patient=${patientId}`, null, 401, 'login');
    expect(unauthenticated.headers.get('www-authenticate')).toMatch(/^Bearer/);
    await check(`/Observation?patient=${patientId}`, 'vigil_pat_not-a-token', 401, 'login');
    await check(`/Observation?patient=${patientId}&_sort=date`, token, 400, 'invalid');
    await check('/Observation', token, 400, 'invalid');
    await check(`/Observation?patient=${patientId}&date=ne2026-01-01`, token, 400, 'invalid');
    await check('/Patient/nobody', token, 404, 'not-found');
    await check('/Encounter', token, 404, 'not-found');
    const xml = await call<Json>(t.httpUrl, 'GET', `/fhir/Patient/${patientId}`, undefined, { authorization: `Bearer ${token}`, accept: 'application/fhir+xml' });
    expect(xml.status).toBe(406);
    expect(xml.body.issue[0].code).toBe('not-supported');
    expect((await call<Json>(t.httpUrl, 'GET', `/fhir/Patient/${patientId}`, undefined, { authorization: `Bearer ${token}`, accept: 'application/fhir+json' })).status).toBe(200);
    const onco = await admin.request<{ token: string }>('POST', '/api/users/onco/tokens', { label: 'other team', expiresInDays: 30 });
    await check(`/Observation?patient=${patientId}`, onco.body.token, 404, 'not-found');
    await check(`/Patient/${patientId}`, onco.body.token, 404, 'not-found');
    // A search finds only the patients a user may see.
    expect(((await fhir('/Patient', onco.body.token)).body as Bundle).entry).toEqual([]);
    const denied = await admin.request<{ entries: Json[] }>('GET', `/api/audit?action=access.denied&patient=${patientId}`);
    expect(denied.body.entries.some((e) => String(e.actor).startsWith('user:onco/token:'))).toBe(true);
  });

  it('audits every FHIR read with who, which patient and what query', async () => {
    await fhir(`/Observation?patient=${patientId}&code=29463-7`);
    const audit = await admin.request<{ entries: Json[] }>('GET', `/api/audit?action=fhir.search&patient=${patientId}`);
    const entry = audit.body.entries.find((e) => e.details?.query === `code=29463-7&patient=${patientId}`)!;
    expect(entry).toMatchObject({ actor: `user:card/token:${tokenId}`, patientId, target: 'Observation' });
    const reads = await admin.request<{ entries: Json[] }>('GET', `/api/audit?action=fhir.read&patient=${patientId}`);
    expect(reads.body.entries.map((e) => e.target)).toEqual(expect.arrayContaining([`Patient/${patientId}`, 'Device/cuff.1']));
  });

  it('takes the session cookie as well, and refuses a token once revoked', async () => {
    const bySession = await call<Json>(t.httpUrl, 'GET', `/fhir/Observation?patient=${patientId}&code=8867-4`, undefined, { cookie: card.cookie });
    expect(bySession.status).toBe(200);
    const extra = await admin.request<{ token: string; apiToken: { id: number } }>('POST', '/api/users/card/tokens', { label: 'to revoke' });
    expect((await fhir(`/Patient/${patientId}`, extra.body.token)).status).toBe(200);
    // The answers carry exactly their declared fields (as test/api-contract.e2e.test.ts checks for the other routes).
    expect(newApiTokenSchema.parse(extra.body)).toEqual(extra.body);
    const listed = await admin.request<{ tokens: Json[] }>('GET', '/api/users/card/tokens');
    for (const listedToken of listed.body.tokens) expect(apiTokenSchema.parse(listedToken)).toEqual(listedToken);
    expect(listed.body.tokens.map((x) => x.label)).toEqual(['to revoke', 'EHR interface']);
    expect(JSON.stringify(listed.body)).not.toContain(extra.body.token);
    expect((await admin.request('DELETE', `/api/users/card/tokens/${extra.body.apiToken.id}`)).status).toBe(204);
    expect((await fhir(`/Patient/${patientId}`, extra.body.token)).status).toBe(401);
    // Clinicians do not manage tokens.
    expect((await card.request('POST', '/api/users/card/tokens', { label: 'mine' })).status).toBe(403);
  });

  it('exports the readings and alerts of a period as a valid collection Bundle through the API, audited', async () => {
    const res = await card.request<Bundle>('GET', `/api/patients/${patientId}/export/fhir?from=${encodeURIComponent(at(0))}&to=${encodeURIComponent(at(60))}`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-disposition')).toMatch(/^attachment; filename="patient-/);
    expect(fhirErrors(res.body as Json & { resourceType: string })).toEqual([]);
    expect(res.body.type).toBe('collection');
    const types = res.body.entry!.map((e) => e.resource.resourceType);
    expect(types.filter((x) => x === 'Observation')).toHaveLength(8); // minutes 0-50: 2 BP, 3 glucose, weight, SpO2, heart rate
    expect(types.slice(0, 2)).toEqual(['Patient', 'Device']);
    expect(types).toContain('Flag');
    const audit = await admin.request<{ entries: Json[] }>('GET', `/api/audit?action=patient.export&patient=${patientId}`);
    expect(audit.body.entries[0]).toMatchObject({ actor: 'user:card', target: 'fhir', details: { format: 'fhir', entries: res.body.entry!.length } });
    expect((await call(t.httpUrl, 'GET', `/api/patients/${patientId}/export/fhir`, undefined, { authorization: 'Bearer vigil_pat_nope' })).status).toBe(401);
    const backwards = await card.request('GET', `/api/patients/${patientId}/export/fhir?from=${encodeURIComponent(at(60))}&to=${encodeURIComponent(at(0))}`);
    expect(backwards.body).toMatchObject({ code: 'VIGIL_ERR_BAD_REQUEST' });
    expect(backwards.status).toBe(400);
    expect((await call(t.httpUrl, 'GET', `/api/patients/${patientId}/export/fhir`, undefined, { authorization: `Bearer ${(await admin.request<{ token: string }>('POST', '/api/users/onco/tokens', { label: 'x' })).body.token}` })).status).toBe(404);
  });

  it('exports the same period as CSV tables (readings with units and codes, alerts), audited, for the care team only', async () => {
    const q = `from=${encodeURIComponent(at(0))}&to=${encodeURIComponent(at(60))}`;
    const readings = await card.request<string>('GET', `/api/patients/${patientId}/export/csv?${q}`);
    expect(readings.status).toBe(200);
    expect(readings.headers.get('content-type')).toMatch(/^text\/csv/);
    expect(readings.headers.get('content-disposition')).toMatch(/^attachment; filename="patient-.+-readings-/);
    const lines = readings.body.trimEnd().split('\r\n');
    expect(lines[0]).toBe('time,type,device,field,value,unit,loinc,tags');
    // A blood pressure is a line per measured value, each with its UCUM unit and LOINC code.
    expect(lines).toEqual(expect.arrayContaining([expect.stringMatching(/,blood_pressure,[^,]+,systolic,\d+,mm\[Hg\],8480-6,$/), expect.stringMatching(/,blood_pressure,[^,]+,diastolic,\d+,mm\[Hg\],8462-4,$/)]));
    const times = lines.slice(1).map((l) => l.split(',')[0]!);
    expect([...times].sort()).toEqual(times);
    const alerts = await card.request<string>('GET', `/api/patients/${patientId}/export/csv?${q}&table=alerts`);
    expect(alerts.body.split('\r\n')[0]).toMatch(/^id,opened_at,severity,status,rule,title,message,/);
    expect(alerts.body.trimEnd().split('\r\n').length).toBeGreaterThan(1);
    const audit = await admin.request<{ entries: Json[] }>('GET', `/api/audit?action=patient.export&patient=${patientId}`);
    expect(audit.body.entries.slice(0, 2)).toEqual([
      expect.objectContaining({ actor: 'user:card', target: 'csv:alerts', details: expect.objectContaining({ format: 'csv', table: 'alerts' }) }),
      expect.objectContaining({ actor: 'user:card', target: 'csv:readings', details: expect.objectContaining({ format: 'csv', rows: 8 }) }), // readings, as the FHIR export's Observations
    ]);
    expect((await card.request('GET', `/api/patients/${patientId}/export/csv?table=everything`)).status).toBe(400);
    expect((await call(t.httpUrl, 'GET', `/api/patients/${patientId}/export/csv`, undefined, { authorization: `Bearer ${(await admin.request<{ token: string }>('POST', '/api/users/onco/tokens', { label: 'y' })).body.token}` })).status).toBe(404);
  });

  it('creates a token and exports a FHIR Bundle file from the command line, both audited', async () => {
    const out = await tempDir();
    try {
      const env = { ...process.env, VIGIL_DATA_DIR: t.dataDir };
      const created = await exec(process.execPath, [CLI, 'users', 'token', 'add', 'card', '--label', 'EHR from CLI', '--expires-in-days', '7'], { env });
      const cliToken = /token: (vigil_pat_\S+)/.exec(created.stdout)![1]!;
      expect((await fhir(`/Patient/${patientId}`, cliToken)).status).toBe(200);
      const file = join(out.path, 'bundle.json');
      await exec(process.execPath, [CLI, 'patients', 'export', patientId, '--format', 'fhir', '--out', file], { env });
      expect((await stat(file)).mode & 0o777).toBe(0o600);
      const bundle = JSON.parse(await readFile(file, 'utf8')) as Bundle & { resourceType: string };
      expect(fhirErrors(bundle)).toEqual([]);
      expect(bundle.entry!.filter((e) => e.resource.resourceType === 'Observation')).toHaveLength(11);
      const again = await exec(process.execPath, [CLI, 'patients', 'export', patientId, '--format', 'fhir', '--out', file], { env }).catch((err: { code: number; stderr: string }) => err);
      expect((again as { code: number }).code).toBe(1);
      const audit = await admin.request<{ entries: Json[] }>('GET', `/api/audit?action=patient.export&patient=${patientId}`);
      expect(audit.body.entries[0]).toMatchObject({ origin: 'cli', target: file, details: { format: 'fhir' } });
      const tokens = await admin.request<{ entries: Json[] }>('GET', '/api/audit?action=token.create');
      expect(tokens.body.entries.map((e) => e.actor)).toEqual(expect.arrayContaining([expect.stringMatching(/^cli:/), 'user:chief']));
    } finally {
      await out.remove();
    }
  });
});
