import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openState } from '../app/state.js';
import { call, login, type DashboardSession } from './support/dashboard-client.js';
import { startTestVigil, type TestVigil } from './support/vigil.js';

const TOKEN = 'worklist-ranking-token-0123456789abcdef';
const PASSWORD = 'correct horse battery staple';
const NAME = 'Zoë Ørsted-李雷 😀 "quoted" \\ back';

type Worklist = { entries: { patient: { id: string; name: string; careTeam: string | null } }[]; teams: string[]; newerReadings: boolean };

describe('the worklist served from the shared ranking', () => {
  let t: TestVigil;
  let card: DashboardSession;
  let moved: string;
  let stays: string;

  beforeAll(async () => {
    t = await startTestVigil({ VIGIL_ADMIN_TOKEN: TOKEN });
    const { registry, users } = t.vigil;
    moved = (await registry.addPatient({ name: NAME, careTeam: 'cardiology' })).id;
    stays = (await registry.addPatient({ name: 'Stays Put', careTeam: 'cardiology' })).id;
    await users.add({ username: 'card', role: 'clinician', careTeams: ['cardiology'], password: PASSWORD });
    card = await login(t.httpUrl, 'card', PASSWORD);
  });
  afterAll(async () => {
    await t?.stop();
  });

  it('answers valid UTF-8 JSON for a non-ASCII name, its length that of its bytes', async () => {
    // Uncompressed: fetch would decode a compressed answer, whose length is that of the encoded bytes.
    const res = await fetch(`${t.httpUrl}/api/worklist`, { headers: { authorization: `Bearer ${TOKEN}`, 'accept-encoding': 'identity' } });
    const bytes = Buffer.from(await res.arrayBuffer());
    expect(res.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect(Number(res.headers.get('content-length'))).toBe(bytes.length);
    const body = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes)) as Worklist;
    expect(body.entries.find((e) => e.patient.id === moved)!.patient.name).toBe(NAME);
  });

  it('answers the same list compressed (brotli, gzip) as uncompressed, each encoded once for every caller of the ranking', async () => {
    const { get } = await import('node:http');
    const { brotliDecompressSync, gunzipSync } = await import('node:zlib');
    const raw = (encoding: string) =>
      new Promise<{ headers: Record<string, string | string[] | undefined>; body: Buffer }>((resolve, reject) => {
        get(`${t.httpUrl}/api/worklist`, { headers: { authorization: `Bearer ${TOKEN}`, 'accept-encoding': encoding } }, (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve({ headers: res.headers, body: Buffer.concat(chunks) }));
        }).on('error', reject);
      });
    const plain = await raw('identity');
    const br = await raw('gzip;q=0.5, br');
    const gz = await raw('gzip');
    expect(plain.headers['content-encoding']).toBeUndefined();
    expect(br.headers['content-encoding']).toBe('br');
    expect(gz.headers['content-encoding']).toBe('gzip');
    expect(br.headers.vary).toContain('accept-encoding');
    expect(Number(br.headers['content-length'])).toBe(br.body.length);
    const entries = (body: Buffer) => (JSON.parse(body.toString('utf8')) as Worklist).entries;
    expect(entries(brotliDecompressSync(br.body))).toEqual(entries(plain.body));
    expect(entries(gunzipSync(gz.body))).toEqual(entries(plain.body));
    expect(entries(plain.body).some((e) => e.patient.name === NAME)).toBe(true);
  });

  it('filters by name (any case, non-ASCII), programme and team as before, the teams list staying every team the caller may see', async () => {
    const admin = (query: string) => call<Worklist>(t.httpUrl, 'GET', `/api/worklist${query}`, undefined, { authorization: `Bearer ${TOKEN}` });
    expect((await admin('?q=ZOË')).body.entries.map((e) => e.patient.id)).toEqual([moved]);
    expect((await admin('?q=%E6%9D%8E')).body.entries.map((e) => e.patient.id)).toEqual([moved]);
    expect((await admin('?q=stays&team=cardiology')).body.entries.map((e) => e.patient.id)).toEqual([stays]);
    const noTeam = await admin('?team=nobody');
    expect(noTeam.body).toMatchObject({ entries: [], teams: ['cardiology'] });
    expect((await admin('?programme=hypertension')).body.entries).toEqual([]);
    const mine = await card.request<Worklist>('GET', '/api/worklist?q=stays');
    expect(mine.body).toMatchObject({ teams: ['cardiology'], newerReadings: false });
    expect(mine.body.entries.map((e) => e.patient.id)).toEqual([stays]);
  });

  it("stops sending a patient's row to their former care team as soon as the CLI moves them", async () => {
    const before = await card.request<Worklist>('GET', '/api/worklist');
    expect(before.body.entries.map((e) => e.patient.id).sort()).toEqual([moved, stays].sort());
    // The CLI: another process's connection to the data dir.
    const cli = openState(t.dataDir);
    try {
      await cli.registry.setCareTeam(moved, 'oncology');
    } finally {
      cli.db.close();
    }
    const after = await card.request<Worklist>('GET', '/api/worklist');
    expect(after.body.entries.map((e) => e.patient.id)).toEqual([stays]);
    expect(after.body.teams).toEqual(['cardiology']);
    const admin = await call<Worklist>(t.httpUrl, 'GET', '/api/worklist', undefined, { authorization: `Bearer ${TOKEN}` });
    expect(admin.body.entries.find((e) => e.patient.id === moved)!.patient.careTeam).toBe('oncology');
    expect(admin.body.teams).toEqual(['cardiology', 'oncology']);
  });
});
