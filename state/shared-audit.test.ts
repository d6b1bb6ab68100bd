import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { openState } from '../app/state.js';
import { postgresForFile } from '../test/support/postgres.js';
import { tempDir, waitFor } from '../test/support/temp.js';
import { AuditLog } from './audit-log.js';
import { openSharedAudit, type SharedAudit } from './shared-audit.js';
import type { StateDb } from './database.js';

/**
 * Instances with their own state databases shipping their audit logs to one PostgreSQL: one trail, whichever
 * instance recorded an entry, with the local log's filters and paging; shipped once however often a batch is
 * sent; nothing lost while PostgreSQL is down.
 */
describe('the audit log shared in PostgreSQL', () => {
  const postgres = postgresForFile('audit');
  const cleanups: (() => Promise<unknown> | unknown)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  interface Instance {
    readonly db: StateDb;
    readonly log: AuditLog;
    readonly shared: SharedAudit;
    readonly errors: Error[];
  }

  async function instance(url: string, dataDir?: string): Promise<Instance> {
    let dir = dataDir;
    if (!dir) {
      const temp = await tempDir();
      cleanups.push(() => temp.remove());
      dir = temp.path;
    }
    const { db } = openState(dir);
    cleanups.push(() => db.close());
    const errors: Error[] = [];
    // Short backoff steps are RetryLater's; a quick interval keeps the test short.
    const shared = await openSharedAudit(db, url, { onError: (err) => errors.push(err), everyMs: 100, batchSize: 3 });
    cleanups.push(() => shared.close(1_000));
    const log = new AuditLog(db);
    log.onRecorded(() => shared.shipper.nudge());
    return { db, log, shared, errors };
  }

  async function sharedRows(url: string, sql: string): Promise<Record<string, unknown>[]> {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      return (await client.query(sql)).rows as Record<string, unknown>[];
    } finally {
      await client.end();
    }
  }

  it('lists the entries of two instances in one trail, newest first, filtered and paged by id', async () => {
    const url = await postgres.database();
    const [a, b] = [await instance(url), await instance(url)];
    expect(a.shared.shipper.instance).not.toBe(b.shared.shipper.instance);
    a.log.record({ name: 'user:alice', origin: '10.0.0.1' }, 'patient.view', 'p-1', null, { tab: 'trend' }, 1_000);
    await a.shared.shipper.ship();
    b.log.record('user:bob', 'patient.view', 'p-2', null, undefined, 2_000);
    await b.shared.shipper.ship();
    a.log.record('user:alice', 'alert.acknowledge', 'p-2', 'alert:7', undefined, 3_000);
    b.log.record('user:carol', 'user.add', null, 'user:dan', undefined, 4_000);

    // Each instance ships its own pending entries before listing; B's last entry arrives when B ships it.
    const fromA = await a.shared.trail.list();
    expect(fromA.map((e) => e.action)).toEqual(['alert.acknowledge', 'patient.view', 'patient.view']);
    const all = await b.shared.trail.list();
    expect(all.map((e) => [e.actor, e.action, e.patientId, e.at])).toEqual([
      ['user:carol', 'user.add', null, 4_000],
      ['user:alice', 'alert.acknowledge', 'p-2', 3_000],
      ['user:bob', 'patient.view', 'p-2', 2_000],
      ['user:alice', 'patient.view', 'p-1', 1_000],
    ]);
    expect(all.at(-1)).toMatchObject({ origin: '10.0.0.1', details: { tab: 'trend' } });
    expect((await a.shared.trail.list({ patientId: 'p-2' })).map((e) => e.actor)).toEqual(['user:alice', 'user:bob']);
    expect((await a.shared.trail.list({ actor: 'user:alice', action: 'patient.view' })).map((e) => e.at)).toEqual([1_000]);
    expect((await a.shared.trail.list({ since: 2_000, until: 4_000 })).map((e) => e.at)).toEqual([3_000, 2_000]);
    const first = await a.shared.trail.list({ limit: 3 });
    const next = await a.shared.trail.list({ limit: 3, beforeId: first.at(-1)!.id });
    expect([...first, ...next].map((e) => e.at)).toEqual([4_000, 3_000, 2_000, 1_000]);
    expect(a.shared.shipper.pending()).toBe(0);
    expect(b.shared.shipper.pending()).toBe(0);
  });

  it('ships a batch sent again (a crash before the cursor was saved) only once, and refuses to change the shared log', async () => {
    const url = await postgres.database();
    const a = await instance(url);
    for (let i = 0; i < 6; i++) a.log.record('user:alice', 'patient.view', `p-${i}`, null, undefined, i);
    // A NUL, which SQLite keeps and PostgreSQL's text refuses, must not hold back the entries after it.
    a.log.record('user:alice', 'access.denied', 'p-6', '/api/patients/p-6\u0000', undefined, 6);
    expect(await a.shared.shipper.ship()).toBe(true);
    // The cursor as it was before the INSERTs committed: the next shipment sends all seven again.
    a.db.prepare('UPDATE audit_shipping SET shipped_id = 0').run();
    expect(a.shared.shipper.pending()).toBe(7);
    expect(await a.shared.shipper.ship()).toBe(true);
    expect(a.shared.shipper.pending()).toBe(0);
    expect(await sharedRows(url, 'SELECT count(*)::int AS n, count(DISTINCT local_id)::int AS ids FROM audit_log')).toEqual([{ n: 7, ids: 7 }]);
    expect(await sharedRows(url, "SELECT target FROM audit_log WHERE action = 'access.denied'")).toEqual([{ target: '/api/patients/p-6\\u0000' }]);
    await expect(sharedRows(url, "UPDATE audit_log SET actor = 'someone else'")).rejects.toThrow(/append-only/);
    await expect(sharedRows(url, 'DELETE FROM audit_log')).rejects.toThrow(/append-only/);
    await expect(sharedRows(url, 'TRUNCATE audit_log')).rejects.toThrow(/append-only/);
  });

  it('keeps entries recorded while PostgreSQL is down and ships them, once, when it is back', async () => {
    const url = await postgres.database();
    const a = await instance(url);
    a.log.record('user:alice', 'patient.view', 'p-1', null, undefined, 1);
    await a.shared.shipper.ship();
    await postgres.server().stop();
    try {
      for (let i = 2; i <= 5; i++) a.log.record('user:alice', 'patient.view', 'p-1', null, undefined, i);
      expect(await a.shared.shipper.ship()).toBe(false);
      expect(a.shared.shipper.failures).toBeGreaterThan(0);
      expect(a.shared.shipper.pending()).toBe(4);
    } finally {
      await postgres.server().start();
    }
    a.log.record('user:alice', 'patient.view', 'p-1', null, undefined, 6);
    // The retry's timer (backoff) ships them, without a nudge or a listing.
    await waitFor(() => a.shared.shipper.pending() === 0, { what: 'the entries shipped after the outage' });
    expect((await sharedRows(url, 'SELECT at FROM audit_log ORDER BY id')).map((r) => r.at)).toEqual(['1', '2', '3', '4', '5', '6']);
    expect(a.errors.length).toBeGreaterThan(0);
  });

  it('takes a new instance id when its state database was rewound (a backup restored), so its next entries are not taken for duplicates', async () => {
    const url = await postgres.database();
    const dir = await tempDir();
    cleanups.push(() => dir.remove());
    const a = await instance(url, join(dir.path, 'live'));
    a.log.record('user:alice', 'patient.view', 'p-1', null, undefined, 1);
    await a.shared.shipper.ship();
    mkdirSync(join(dir.path, 'backup'));
    a.db.exec(`VACUUM INTO '${join(dir.path, 'backup', 'vigil.db')}'`);
    a.log.record('user:alice', 'patient.view', 'p-1', null, undefined, 2);
    await a.shared.shipper.ship();
    const before = a.shared.shipper.instance;

    const restored = await instance(url, join(dir.path, 'backup'));
    expect(restored.shared.shipper.instance).not.toBe(before);
    restored.log.record('user:bob', 'patient.view', 'p-1', null, undefined, 3);
    expect((await restored.shared.trail.list()).map((e) => e.at)).toEqual([3, 2, 1]);
  });
});
