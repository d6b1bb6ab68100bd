import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { openRegistryInstance, type RegistryInstance } from '../test/support/registry-backends.js';
import { startPostgres, type PostgresInstance } from '../test/support/postgres.js';
import { startTcpProxy } from '../test/support/tcp-proxy.js';
import { Registry } from './registry.js';

/** Polls `check` every 25 ms for up to `ms`. */
async function eventually(check: () => unknown, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    try {
      if (await check()) return;
    } catch {
      // not yet
    }
    if (Date.now() > deadline) throw new Error(`still not true after ${ms} ms: ${check.toString()}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** An administrator's connection to the shared registry, as an operator in psql (or another instance) has. */
async function adminOf(url: string): Promise<pg.Client> {
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  return admin;
}

/** Waits until a statement of another session that starts with `prefix` waits for a lock; its backend's pid. */
async function blockedOn(admin: pg.Client, prefix: string): Promise<number> {
  let pid: number | undefined;
  await eventually(async () => {
    const r = await admin.query<{ pid: number }>(
      "SELECT pid FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE $1 AND pid <> pg_backend_pid()",
      [`${prefix}%`],
    );
    pid = r.rows[0]?.pid;
    return pid !== undefined;
  });
  return pid!;
}

/**
 * The shared registry under faults a running cluster meets: a fetch that fails while the change feed stays up,
 * instances whose liveness reaches PostgreSQL out of order, an instance starting while another provisions, a
 * replica data dir used without VIGIL_DATABASE_URL.
 */
describe('the shared registry under faults', () => {
  let server: PostgresInstance;
  let databases = 0;
  const open: RegistryInstance[] = [];
  const admins: pg.Client[] = [];
  const instance = async (url: string) => {
    const i = await openRegistryInstance(url);
    open.push(i);
    return i;
  };
  const admin = async (url: string) => {
    const a = await adminOf(url);
    admins.push(a);
    return a;
  };
  const database = () => server.createDatabase(`faults_${++databases}`);
  const proxies: Awaited<ReturnType<typeof startTcpProxy>>[] = [];
  /** A new database, and its URL through a TCP proxy that can silence the connections open through it. */
  const databaseBehindProxy = async () => {
    const url = await database();
    const proxy = await startTcpProxy(server.port);
    proxies.push(proxy);
    return { url, proxied: url.replace(`:${server.port}/`, `:${proxy.port}/`), proxy };
  };

  beforeAll(async () => {
    server = await startPostgres();
  }, 120_000);
  afterEach(async () => {
    for (const a of admins.splice(0)) await a.end().catch(() => undefined);
    for (const i of open.splice(0)) await i.close();
    for (const p of proxies.splice(0)) await p.close();
  });
  afterAll(async () => {
    await server?.destroy();
  });

  it('fetches again a notified revocation whose fetch failed, while the change feed stayed connected', async () => {
    const url = await database();
    const a = await instance(url);
    await a.registry.addPatient({ id: 'p-1', name: 'Ada' });
    const { secret } = await a.registry.addDevice({ patientId: 'p-1', id: 'cuff-1' });
    const [writer, locker, killer] = [await admin(url), await admin(url), await admin(url)];
    // The revocation commits (and notifies) while another session queues for an exclusive lock on devices, so
    // the replica's fetch of the row waits behind that lock; cancelled there, it fails as a timeout would.
    await writer.query('BEGIN');
    await writer.query("UPDATE devices SET revoked_at = 1 WHERE id = 'cuff-1'");
    const locked = locker.query('BEGIN').then(() => locker.query('LOCK TABLE devices IN ACCESS EXCLUSIVE MODE'));
    await blockedOn(killer, 'LOCK TABLE devices');
    await writer.query('COMMIT');
    await locked;
    const fetching = await blockedOn(killer, 'SELECT id, kind');
    await killer.query('SELECT pg_cancel_backend($1)', [fetching]);
    await locker.query('ROLLBACK');
    // The listening connection never dropped, so no resync comes: the replica must try the fetch again itself.
    await eventually(async () => (await a.registry.authenticateDevice('cuff-1', Buffer.from(secret))) === 'revoked', 15_000);
  });

  it('keeps the latest status of a device whose liveness reaches PostgreSQL out of order from two instances', async () => {
    const url = await database();
    const [a, b] = [await instance(url), await instance(url)];
    await a.registry.addPatient({ id: 'p-1', name: 'Ada' });
    await a.registry.addDevice({ patientId: 'p-1', id: 'cgm-1' });
    await eventually(() => b.registry.getDevice('cgm-1'));
    // The device left B at 10_000 and reached A at 11_000; B's mirror of the older event lands last.
    a.registry.recordStatusChanges([{ kind: 'connected', deviceId: 'cgm-1', at: 11_000 }]);
    a.registry.recordStatus('cgm-1', { online: true, battery: 80 }, 11_000);
    await a.registry.settled();
    b.registry.recordStatusChanges([{ kind: 'disconnected', deviceId: 'cgm-1', at: 10_000 }]);
    b.registry.recordStatus('cgm-1', { online: false, battery: 20 }, 10_000);
    await b.registry.settled();
    const check = await admin(url);
    const row = (await check.query<{ online: number; battery: number; status_at: string }>("SELECT online, battery, status_at FROM devices WHERE id = 'cgm-1'")).rows[0];
    expect(row).toEqual({ online: 1, battery: 80, status_at: '11000' });
    await eventually(() => b.registry.getDevice('cgm-1')?.online === true && b.registry.getDevice('cgm-1')?.battery === 80);
    expect(a.registry.getDevice('cgm-1')).toMatchObject({ online: true, battery: 80 });
  });

  it('refuses to erase a patient from a replica without the shared registry, which would bring them back', async () => {
    const url = await database();
    const a = await instance(url);
    await a.registry.addPatient({ id: 'p-1', name: 'Ada' });
    const alone = new Registry(a.db);
    await expect(alone.erasePatientShared('p-1')).rejects.toThrow(expect.objectContaining({ code: 'VIGIL_ERR_CONFIG', message: expect.stringContaining('VIGIL_DATABASE_URL') }));
  });

  it('starts while another instance provisions a patient and a device between its reads of the shared registry', async () => {
    const url = await database();
    const first = await instance(url);
    await first.registry.addPatient({ id: 'p-old', name: 'Old' });
    const [locker, watcher] = [await admin(url), await admin(url)];
    // Hold the devices table so that the new instance's full sync reads patients, then waits to read devices.
    await locker.query('BEGIN');
    await locker.query('LOCK TABLE devices IN ACCESS EXCLUSIVE MODE');
    const starting = openRegistryInstance(url);
    await blockedOn(watcher, 'SELECT id, kind');
    // Meanwhile a patient and their device are provisioned and committed.
    await locker.query("INSERT INTO patients (id, name, created_at, time_zone) VALUES ('p-new', 'New', 2, 'UTC')");
    await locker.query("INSERT INTO devices (id, patient_id, secret_hash, created_at) VALUES ('d-new', 'p-new', 'x', 2)");
    await locker.query('COMMIT');
    const started = await starting;
    open.push(started);
    await eventually(() => started.registry.getDevice('d-new')?.patientId === 'p-new' && started.registry.getPatient('p-new'));
    expect(started.registry.getPatient('p-old')?.name).toBe('Old');
  });

  it('writes after a PostgreSQL restart the liveness recorded while it was down, and keeps it in its replica', async () => {
    const url = await database();
    const [a, b] = [await instance(url), await instance(url)];
    await a.registry.addPatient({ id: 'p-1', name: 'Ada' });
    await a.registry.addDevice({ patientId: 'p-1', id: 'cgm-1' });
    await eventually(() => b.registry.getDevice('cgm-1'));
    await server.stop();
    // The device connects to A during the outage and then stays connected, sending nothing more.
    a.registry.recordStatusChanges([{ kind: 'connected', deviceId: 'cgm-1', at: 20_000 }]);
    a.registry.recordStatus('cgm-1', { online: true, battery: 64 }, 20_000);
    await a.registry.settled();
    expect(a.registry.getDevice('cgm-1')).toMatchObject({ online: true, battery: 64 });
    await server.start();
    // Both listeners reconnect and resync; A's liveness must reach PostgreSQL, so B and A itself keep it.
    await eventually(() => b.registry.getDevice('cgm-1')?.online === true && b.registry.getDevice('cgm-1')?.battery === 64, 20_000);
    // A change made after the restart still reaches both replicas (the change feed is back).
    const check = await admin(url);
    await check.query("UPDATE patients SET name = 'Ada L.' WHERE id = 'p-1'");
    await eventually(() => a.registry.getPatient('p-1')?.name === 'Ada L.' && b.registry.getPatient('p-1')?.name === 'Ada L.');
    expect(a.registry.getDevice('cgm-1')).toMatchObject({ online: true, battery: 64, statusAt: 20_000 });
  });

  it('drops liveness PostgreSQL refuses, so that it does not hold back the liveness written after it', async () => {
    const url = await database();
    const [a, b] = [await instance(url), await instance(url)];
    await a.registry.addPatient({ id: 'p-1', name: 'Ada' });
    await a.registry.addDevice({ patientId: 'p-1', id: 'bad-1' });
    await a.registry.addDevice({ patientId: 'p-1', id: 'cgm-1' });
    const check = await admin(url);
    // A statement the database refuses every time (here a trigger; in life, a bug): not an outage to wait out.
    await check.query("CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'refused'; END $$");
    await check.query("CREATE TRIGGER refuse BEFORE UPDATE ON devices FOR EACH ROW WHEN (NEW.id = 'bad-1') EXECUTE FUNCTION refuse()");
    a.registry.markSeen([['bad-1', 1_000]]);
    a.registry.markSeen([['cgm-1', 2_000]]);
    await eventually(() => b.registry.getDevice('cgm-1')?.lastSeenAt === 2_000);
  });

  it('stops accepting a device deleted from the shared registry, when notified and at a resync', async () => {
    const url = await database();
    const a = await instance(url);
    await a.registry.addPatient({ id: 'p-1', name: 'Ada' });
    const first = await a.registry.addDevice({ patientId: 'p-1', id: 'cuff-1' });
    const second = await a.registry.addDevice({ patientId: 'p-1', id: 'cuff-2' });
    const check = await admin(url);
    await check.query("DELETE FROM devices WHERE id = 'cuff-1'");
    await eventually(async () => (await a.registry.authenticateDevice('cuff-1', Buffer.from(first.secret))) === 'unknown');
    expect(a.registry.getDevice('cuff-1')).toBeUndefined();
    // Deleted without a notification (as a database restored from an older dump is): the resync finds it gone.
    await check.query('ALTER TABLE devices DISABLE TRIGGER devices_changed');
    await check.query("DELETE FROM devices WHERE id = 'cuff-2'");
    await check.query('ALTER TABLE devices ENABLE TRIGGER devices_changed');
    expect(await a.registry.authenticateDevice('cuff-2', Buffer.from(second.secret))).toBe('ok');
    await check.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'vigil-listen'");
    await eventually(async () => (await a.registry.authenticateDevice('cuff-2', Buffer.from(second.secret))) === 'unknown');
    expect(a.registry.listDevices()).toEqual([]);
  });

  it('replaces a listening connection that went silent without closing, and catches up on what it missed', async () => {
    const { url, proxied, proxy } = await databaseBehindProxy();
    const a = await instance(proxied);
    await a.registry.addPatient({ id: 'p-1', name: 'Ada' });
    const { secret } = await a.registry.addDevice({ patientId: 'p-1', id: 'cuff-1' });
    // A NAT forgets the flows: the listening connection (and the pooled ones) hear nothing more, and are not told.
    expect(proxy.silence()).toBeGreaterThanOrEqual(2);
    const check = await admin(url);
    await check.query("UPDATE devices SET revoked_at = 1 WHERE id = 'cuff-1'");
    await eventually(async () => (await a.registry.authenticateDevice('cuff-1', Buffer.from(secret))) === 'revoked', 75_000);
  }, 120_000);

  it('closes without waiting on a listening connection that went silent', async () => {
    const { proxied, proxy } = await databaseBehindProxy();
    const a = await openRegistryInstance(proxied);
    await a.registry.addPatient({ id: 'p-1', name: 'Ada' });
    expect(proxy.silence()).toBeGreaterThanOrEqual(2);
    // The goodbye is never answered; closing must not wait for the kernel to give up on the flow (minutes). A
    // fetch under way on a silent pooled connection still runs to its timeouts (query and rollback, 15 s each).
    const hung = new Promise<'hung'>((resolve) => setTimeout(() => resolve('hung'), 45_000).unref());
    expect(await Promise.race([a.close().then(() => 'closed' as const), hung])).toBe('closed');
  }, 90_000);
});
