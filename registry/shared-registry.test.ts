import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { openRegistryInstance, type RegistryInstance } from '../test/support/registry-backends.js';
import { startPostgres, type PostgresInstance } from '../test/support/postgres.js';
import { REGISTRY_MIGRATIONS } from './migrations.js';
import { Registry } from './registry.js';
import { openStateDb } from '../state/index.js';
import { tempDir } from '../test/support/temp.js';

/** Polls `check` every 25 ms for up to 10 s: a notified change reaches another replica in milliseconds. */
async function eventually(check: () => unknown): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    try {
      if (await check()) return;
    } catch {
      // not yet
    }
    if (Date.now() > deadline) throw new Error(`still not true after 10 s: ${check.toString()}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/**
 * Instances with their own state databases on one shared registry in a real PostgreSQL: what one changes, the
 * others' replicas get (a revocation too), ids cannot be taken twice, an erasure reaches every replica, and a
 * replica that lost its connection catches up.
 */
describe('a registry shared in PostgreSQL', () => {
  let server: PostgresInstance;
  let databases = 0;
  const open: RegistryInstance[] = [];
  const instance = async (url: string) => {
    const i = await openRegistryInstance(url);
    open.push(i);
    return i;
  };
  const database = () => server.createDatabase(`shared_${++databases}`);

  beforeAll(async () => {
    server = await startPostgres();
  }, 120_000);
  afterEach(async () => {
    for (const i of open.splice(0)) await i.close();
  });
  afterAll(async () => {
    await server?.destroy();
  });

  it('gives every instance what one provisions, changes and revokes', async () => {
    const url = await database();
    const [a, b] = [await instance(url), await instance(url)];
    await a.registry.addPatient({ id: 'p-1', name: 'Ada', programmes: ['heart_failure'], careTeam: 'cardiology' });
    const { secret } = await a.registry.addDevice({ patientId: 'p-1', id: 'scale-1' });
    await eventually(() => b.registry.getDevice('scale-1'));
    expect(b.registry.getPatient('p-1')).toEqual(a.registry.getPatient('p-1'));
    expect(await b.registry.authenticateDevice('scale-1', Buffer.from(secret))).toBe('ok');

    await b.registry.setProgrammes('p-1', ['heart_failure', 'hypertension']);
    await eventually(() => a.registry.getPatient('p-1')?.programmes.length === 2);
    expect(a.registry.getPatient('p-1')?.programmes).toEqual(['heart_failure', 'hypertension']);

    await a.registry.revokeDevice('scale-1');
    await eventually(async () => (await b.registry.authenticateDevice('scale-1', Buffer.from(secret))) === 'revoked');
    expect(b.registry.revokedDeviceIds()).toEqual(new Set(['scale-1']));
  });

  it('lets only one of two instances take an id, at the same moment', async () => {
    const url = await database();
    const [a, b] = [await instance(url), await instance(url)];
    const results = await Promise.allSettled([a.registry.addPatient({ id: 'p-twin', name: 'A' }), b.registry.addPatient({ id: 'p-twin', name: 'B' })]);
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    expect(results.find((r) => r.status === 'rejected')).toMatchObject({ reason: { code: 'VIGIL_ERR_CONFLICT' } });
    const winner = (results.find((r) => r.status === 'fulfilled') as PromiseFulfilledResult<{ name: string }>).value.name;
    await eventually(() => a.registry.getPatient('p-twin')?.name === winner && b.registry.getPatient('p-twin')?.name === winner);
  });

  it('shares devices\' liveness, the latest time winning', async () => {
    const url = await database();
    const [a, b] = [await instance(url), await instance(url)];
    await a.registry.addPatient({ id: 'p-1', name: 'Ada' });
    await a.registry.addDevice({ patientId: 'p-1', id: 'cgm-1' });
    await eventually(() => b.registry.getDevice('cgm-1'));
    // What acts on registry changes (the broker's logins) is not woken by liveness, only by a change of a device.
    const changed = b.registry.changedInShared();
    changed();
    a.registry.recordStatus('cgm-1', { online: true, battery: 71, warmUpUntil: '2026-11-29T12:00:00Z' }, 5_000);
    b.registry.markSeen([['cgm-1', 4_000]]);
    await eventually(() => b.registry.getDevice('cgm-1')?.battery === 71);
    expect(b.registry.getDevice('cgm-1')).toMatchObject({ online: true, lastSeenAt: 5_000, warmUpUntil: Date.parse('2026-11-29T12:00:00Z') });
    expect(changed()).toBe(false);
    await a.registry.revokeDevice('cgm-1');
    await eventually(() => changed());
  });

  it('erases on every instance a patient erased on one, and leaves their devices unassigned', async () => {
    const url = await database();
    const [a, b] = [await instance(url), await instance(url)];
    await a.registry.addPatient({ id: 'p-gone', name: 'Erased', programmes: ['diabetes'] });
    await a.registry.addPatient({ id: 'p-kept', name: 'Kept' });
    await a.registry.addDevice({ patientId: 'p-gone', id: 'meter-1' });
    await eventually(() => b.registry.getDevice('meter-1'));
    await a.registry.erasePatientShared('p-gone');
    await eventually(() => b.erased.includes('p-gone'));
    expect(b.registry.getPatient('p-gone')).toBeUndefined();
    expect(b.registry.listPatients().map((p) => p.id)).toEqual(['p-kept']);
    await eventually(() => b.registry.getDevice('meter-1')?.patientId === null);
    expect(b.erased).toEqual(['p-gone']);
  });

  it('catches up after its listening connection was cut, erasures included', async () => {
    const url = await database();
    const [a, b] = [await instance(url), await instance(url)];
    await a.registry.addPatient({ id: 'p-old', name: 'Old' });
    await eventually(() => b.registry.getPatient('p-old'));
    // Cut every listening connection (b's and a's) and change the registry before they are back.
    const admin = new pg.Client({ connectionString: url });
    await admin.connect();
    try {
      const cut = await admin.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'vigil-listen'");
      expect(cut.rowCount).toBeGreaterThanOrEqual(2);
      await admin.query("INSERT INTO patients (id, name, created_at, time_zone) VALUES ('p-new', 'New', 1, 'UTC')");
      await admin.query("DELETE FROM patients WHERE id = 'p-old'");
    } finally {
      await admin.end();
    }
    await eventually(() => b.registry.getPatient('p-new') && !b.registry.getPatient('p-old'));
    expect(b.erased).toEqual(['p-old']);
  });

  it('adopts the registry of a data dir moving to shared state, the rows already shared winning', async () => {
    const url = await database();
    const first = await instance(url);
    await first.registry.addPatient({ id: 'p-both', name: 'Shared first' });
    // A data dir that ran embedded until now, with the same patient and one of its own.
    const dir = await tempDir();
    try {
      const db = openStateDb(dir.path, REGISTRY_MIGRATIONS);
      const embedded = new Registry(db);
      await embedded.addPatient({ id: 'p-both', name: 'Embedded' });
      await embedded.addPatient({ id: 'p-local', name: 'Local', programmes: ['copd'] });
      const { secret } = await embedded.addDevice({ patientId: 'p-local', id: 'oxi-1' });
      db.close();

      const moved = await openRegistryInstance(url, {}, dir.path);
      open.push(moved);
      expect(moved.erased).toEqual([]);
      expect(moved.registry.getPatient('p-both')?.name).toBe('Shared first');
      await eventually(() => first.registry.getDevice('oxi-1'));
      expect(first.registry.getPatient('p-local')?.programmes).toEqual(['copd']);
      expect(await first.registry.authenticateDevice('oxi-1', Buffer.from(secret))).toBe('ok');
    } finally {
      await dir.remove();
    }
  });

  it('refuses a change made to a replica without the shared registry, which no other instance would see', async () => {
    const url = await database();
    const a = await instance(url);
    await a.registry.addPatient({ id: 'p-1', name: 'Ada' });
    const alone = new Registry(a.db);
    await expect(alone.addPatient({ name: 'Nobody sees me' })).rejects.toThrow(expect.objectContaining({ code: 'VIGIL_ERR_CONFIG', message: expect.stringContaining('VIGIL_DATABASE_URL') }));
    await expect(alone.revokeDevice('d-1')).rejects.toThrow(expect.objectContaining({ code: 'VIGIL_ERR_CONFIG' }));
    expect(alone.getPatient('p-1')?.name).toBe('Ada');
  });
});
