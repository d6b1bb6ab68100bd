import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { openRegistryInstance, type RegistryInstance } from '../test/support/registry-backends.js';
import { startPostgres, type PostgresInstance } from '../test/support/postgres.js';
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

  beforeAll(async () => {
    server = await startPostgres();
  }, 120_000);
  afterEach(async () => {
    for (const a of admins.splice(0)) await a.end().catch(() => undefined);
    for (const i of open.splice(0)) await i.close();
  });
  afterAll(async () => {
    await server?.destroy();
  });

  it('refuses to erase a patient from a replica without the shared registry, which would bring them back', async () => {
    const url = await database();
    const a = await instance(url);
    await a.registry.addPatient({ id: 'p-1', name: 'Ada' });
    const alone = new Registry(a.db);
    await expect(alone.erasePatientShared('p-1')).rejects.toThrow(expect.objectContaining({ code: 'VIGIL_ERR_CONFIG', message: expect.stringContaining('VIGIL_DATABASE_URL') }));
  });
});
