import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openState } from '../app/state.js';
import { AuditLog } from '../state/index.js';
import { call, login } from './support/dashboard-client.js';
import { CLI } from './support/vigil-process.js';
import { tempDir, waitFor } from './support/temp.js';
import { startSharedInstances, type SharedInstances } from './support/shared-instances.js';

const exec = promisify(execFile);
const PASSWORD = 'correct horse battery staple';

interface AuditPage {
  entries: { id: number; actor: string; origin: string | null; action: string; patientId: string | null; target: string | null }[];
  next?: number;
}

/**
 * Two Vigil instances with their own data dirs on one PostgreSQL: one audit trail. A view served by one is in the
 * other's /api/audit, its export and a patient export made there; a CLI command's entries are listed as soon as it
 * exits; an instance stopped cleanly has shipped what it recorded.
 */
describe('the audit log shared in PostgreSQL by two instances', () => {
  let on: SharedInstances;
  beforeAll(async () => {
    on = await startSharedInstances();
    await on.a.vigil.users.add({ username: 'chief', role: 'admin', password: PASSWORD });
  }, 120_000);
  afterAll(() => on?.stop());

  it("lists on one instance a patient view served by the other, in the audit page, its export and the patient's export", async () => {
    const dev = await on.a.provision();
    await waitFor(() => on.b.vigil.registry.getPatient(dev.patientId), { what: 'the patient on B' });
    const onA = await login(on.a.httpUrl, 'chief', PASSWORD);
    expect((await onA.request('GET', `/api/patients/${dev.patientId}`)).status).toBe(200);

    const onB = await login(on.b.httpUrl, 'chief', PASSWORD);
    const page = await waitFor(
      async () => {
        const listed = await onB.request<AuditPage>('GET', `/api/audit?patient=${dev.patientId}&action=patient.view`);
        return listed.body.entries.length > 0 && listed.body;
      },
      { what: "A's view in B's audit log" },
    );
    expect(page.entries).toEqual([expect.objectContaining({ actor: 'user:chief', action: 'patient.view', patientId: dev.patientId, origin: expect.any(String) })]);
    // Both logins (one per instance) in one trail, newest first.
    const logins = (await onB.request<AuditPage>('GET', '/api/audit?action=login')).body.entries;
    expect(logins.length).toBeGreaterThanOrEqual(2);
    expect(logins.map((e) => e.id)).toEqual([...logins.map((e) => e.id)].sort((x, y) => y - x));

    const exported = await onB.request<string>('GET', `/api/audit/export?patient=${dev.patientId}&format=ndjson`);
    expect(exported.body).toContain('"action":"patient.view"');
    const patientExport = await onB.request<{ files: { path: string; text: string }[] }>('GET', `/api/admin/patients/${dev.patientId}/export`);
    expect(patientExport.body.files.find((f) => f.path === 'audit.csv')?.text).toContain('patient.view');
    // Nothing waits on A once its entries are listed elsewhere; no shipment failed.
    const metrics = (await call<string>(on.a.httpUrl, 'GET', '/metrics?name=vigil_audit_unshipped_entries&name=vigil_audit_ship_failures_total')).body;
    expect(metrics).toMatch(/^vigil_audit_unshipped_entries 0$/m);
    expect(metrics).toMatch(/^vigil_audit_ship_failures_total 0$/m);
  });

  it('lists a command-line change as soon as the command exits', async () => {
    // A data dir no server runs on: only the command itself can have shipped its entry.
    const dir = await tempDir();
    try {
      const env = { ...process.env, VIGIL_DATA_DIR: dir.path, VIGIL_DATABASE_URL: on.databaseUrl };
      await exec(process.execPath, [CLI, 'patients', 'add', '--id', 'p-audit-cli', '--name', 'From the CLI'], { env });
      const onB = await login(on.b.httpUrl, 'chief', PASSWORD);
      const listed = await onB.request<AuditPage>('GET', '/api/audit?patient=p-audit-cli&action=patient.add');
      expect(listed.body.entries).toEqual([expect.objectContaining({ actor: expect.stringMatching(/^cli:/), patientId: 'p-audit-cli' })]);
    } finally {
      await dir.remove();
    }
  });

  it('ships on a clean stop what an instance recorded just before', async () => {
    const c = await on.start();
    try {
      // Recorded in C's data dir as a CLI command would (no nudge), then C stopped at once, before its interval.
      const { db } = openState(c.dataDir);
      new AuditLog(db).record('user:leaving', 'patient.view', 'p-last', null);
      db.close();
    } finally {
      await c.stop();
    }
    const onB = await login(on.b.httpUrl, 'chief', PASSWORD);
    expect((await onB.request<AuditPage>('GET', '/api/audit?actor=user:leaving')).body.entries).toEqual([expect.objectContaining({ patientId: 'p-last' })]);
  });
});
