import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { csvCell } from '../domain/index.js';
import type { AuditFilter } from '../state/index.js';
import { login, type DashboardSession } from './support/dashboard-client.js';
import { startTestVigil, type TestVigil } from './support/vigil.js';

const PASSWORD = 'correct horse battery staple';
/** More than two pages of the export's reads (1,000 entries) and of the 5,000 the whole-file export read at a time. */
const ENTRIES = 12_345;

/**
 * The export as it was built whole in memory before it was streamed (the reference the streamed file must equal):
 * every entry matching the filter, newest first, as CSV with its header or as NDJSON, lines joined by newlines
 * and one at the end.
 */
function wholeFile(t: TestVigil, filter: AuditFilter, format: 'csv' | 'ndjson'): string {
  const lines: string[] = format === 'csv' ? ['id,at,actor,origin,action,patient_id,target,details'] : [];
  let before: number | undefined;
  for (;;) {
    const page = t.vigil.audit.list({ ...filter, limit: 5000, beforeId: before });
    for (const e of page) {
      lines.push(
        format === 'csv'
          ? [e.id, new Date(e.at).toISOString(), e.actor, e.origin, e.action, e.patientId, e.target, e.details].map(csvCell).join(',')
          : JSON.stringify({ ...e, at: new Date(e.at).toISOString() }),
      );
    }
    if (page.length < 5000) break;
    before = page.at(-1)!.id;
  }
  return `${lines.join('\n')}\n`;
}

/** `/api/audit/export` is streamed page by page: the file is the one it was, for a long log and an empty one. */
describe('audit export', () => {
  let t: TestVigil;
  let admin: DashboardSession;

  beforeAll(async () => {
    t = await startTestVigil();
    await t.vigil.users.add({ username: 'boss', role: 'admin', password: PASSWORD });
    admin = await login(t.httpUrl, 'boss', PASSWORD);
    // Values CSV must quote or defuse: commas, quotes, line breaks, a formula, no origin, nested details.
    const t0 = Date.parse('2026-11-01T00:00:00Z');
    for (let i = 0; i < ENTRIES; i++) {
      const by = i % 3 === 0 ? { name: 'cli:root', origin: 'cli' } : { name: `user:nurse${i % 5}`, origin: `10.0.0.${i % 250}` };
      t.vigil.audit.record(i % 11 === 0 ? 'vigil' : by, i % 2 ? 'patient.view' : 'alert.acknowledged', `p-${i % 40}`, i % 4 ? `alert:${i}` : null, i % 7 ? { note: `checked, "ok"\nline ${i}`, n: i } : '=HYPERLINK("x")', t0 + i * 1000);
    }
  }, 120_000);
  afterAll(async () => {
    await t?.stop();
  });

  const exported = async (query: string) => {
    const response = await admin.request<string>('GET', `/api/audit/export?${query}`);
    expect(response.status).toBe(200);
    return { text: String(response.body), type: response.headers.get('content-type'), disposition: response.headers.get('content-disposition') };
  };

  it('writes the whole log as CSV and NDJSON, byte for byte the file it built in memory', async () => {
    const csv = await exported('format=csv');
    // Read after the export: its own audit.export entry (recorded before the reads) is in both.
    expect(csv.text).toBe(wholeFile(t, {}, 'csv'));
    expect(csv.text.split('\n').filter((l) => l.startsWith('"') || /^\d+,/.test(l)).length).toBeGreaterThan(ENTRIES);
    expect(csv.type).toBe('text/csv; charset=utf-8');
    expect(csv.disposition).toMatch(/^attachment; filename="vigil-audit-[\dT-]+Z\.csv"$/);

    const ndjson = await exported('format=ndjson');
    expect(ndjson.text).toBe(wholeFile(t, {}, 'ndjson'));
    const lines = ndjson.text.trimEnd().split('\n');
    expect(lines.length).toBe(t.vigil.audit.list({ limit: 1_000_000 }).length);
    expect(JSON.parse(lines.at(-1)!)).toMatchObject({ id: 1 });
    expect(ndjson.type).toBe('application/x-ndjson; charset=utf-8');
  }, 60_000);

  it('applies the filter, and answers an empty one as before (the CSV header; a single newline)', async () => {
    expect((await exported('format=csv&actor=cli:root&patient=p-3')).text).toBe(wholeFile(t, { actor: 'cli:root', patientId: 'p-3' }, 'csv'));
    expect((await exported('format=ndjson&action=alert.acknowledged&since=2026-11-01T01:00:00Z')).text).toBe(wholeFile(t, { action: 'alert.acknowledged', since: Date.parse('2026-11-01T01:00:00Z') }, 'ndjson'));
    expect((await exported('format=csv&actor=nobody')).text).toBe('id,at,actor,origin,action,patient_id,target,details\n');
    expect((await exported('format=ndjson&actor=nobody')).text).toBe('\n');
  });
});
