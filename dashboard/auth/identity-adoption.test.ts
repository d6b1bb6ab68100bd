import { afterEach, describe, expect, it } from 'vitest';
import { openState } from '../../app/state.js';
import { sqliteClient, type StateDb } from '../../state/index.js';
import { postgresForFile } from '../../test/support/postgres.js';
import { tempDir } from '../../test/support/temp.js';
import { createAuthenticator } from './authenticate.js';
import { identityStores, openIdentityDatabase } from './identity-database.js';
import { verifyPassword } from './passwords.js';

const PASSWORD = 'a long enough password';
const POLICY = { idleMs: 15 * 60_000, maxAgeMs: 12 * 3_600_000 };

/**
 * An installation that sets VIGIL_DATABASE_URL for the first time keeps its accounts: its users and API tokens
 * are copied into a shared database that has none, once, whichever of several instances gets there first.
 */
describe('adopting a data dir\'s accounts into an empty shared database', () => {
  const postgres = postgresForFile('adopt');
  const cleanups: (() => Promise<unknown> | unknown)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  /** A data dir with accounts made through the embedded stores; `names` become clinicians, with a token each. */
  async function dataDir(names: string[]): Promise<{ db: StateDb; tokens: Map<string, string> }> {
    const dir = await tempDir();
    const { db } = openState(dir.path);
    cleanups.push(async () => {
      db.close();
      await dir.remove();
    });
    const local = identityStores(sqliteClient(db), POLICY);
    const tokens = new Map<string, string>();
    for (const name of names) {
      const user = await local.users.add({ username: name, role: 'clinician', careTeams: ['cardiology'], password: PASSWORD });
      tokens.set(name, (await local.tokens.create(user.id, { label: `${name}'s EHR`, expiresAt: null, createdBy: 'cli:root' })).token);
    }
    return { db, tokens };
  }

  async function open(db: StateDb, url: string) {
    const adopted: { users: number; tokens: number }[] = [];
    const identity = await openIdentityDatabase(db, url, () => undefined, (copied) => adopted.push(copied));
    cleanups.push(() => identity.close());
    return { identity, adopted, stores: identityStores(identity.sql, POLICY) };
  }

  it('copies users and tokens with their passwords and ids, and numbers new ones on from them', async () => {
    const url = await postgres.database();
    const { db, tokens } = await dataDir(['nurse', 'doctor']);
    // A lockout in progress travels with the account.
    const local = identityStores(sqliteClient(db), POLICY);
    const lockedUntil = await local.users.recordFailure((await local.users.byUsername('nurse'))!.id, 1, 60_000, Date.now());
    const { adopted, stores } = await open(db, url);
    expect(adopted).toEqual([{ users: 2, tokens: 2 }]);

    const nurse = await stores.users.passwordHash('nurse');
    expect(nurse && (await verifyPassword(PASSWORD, nurse.hash))).toBe(true);
    expect(nurse?.user.lockedUntil).toBe(lockedUntil);
    const authenticate = createAuthenticator({ adminToken: undefined, ...stores });
    const principal = await authenticate({ headers: { authorization: `Bearer ${tokens.get('doctor')}` }, cookies: {}, method: 'GET' } as never);
    expect(principal).toMatchObject({ username: 'doctor' });

    const added = await stores.users.add({ username: 'newcomer', role: 'admin', password: PASSWORD });
    expect(added.id).toBe(3);
    expect((await stores.tokens.create(added.id, { label: 'new', expiresAt: null, createdBy: 'cli:root' })).apiToken.id).toBe(3);
  });

  it('copies nothing into a shared database that has accounts, and only one of two data dirs starting at once', async () => {
    const url = await postgres.database();
    const [a, b] = [await dataDir(['alice']), await dataDir(['bob', 'carol'])];
    const [onA, onB] = await Promise.all([open(a.db, url), open(b.db, url)]);
    expect([...onA.adopted, ...onB.adopted]).toHaveLength(1);
    const names = (await onA.stores.users.list()).map((u) => u.username).sort();
    expect([['alice'], ['bob', 'carol']]).toContainEqual(names);

    const late = await dataDir(['dave']);
    const onLate = await open(late.db, url);
    expect(onLate.adopted).toEqual([]);
    expect(await onLate.stores.users.byUsername('dave')).toBeUndefined();
  });

  it('leaves an empty shared database empty when the data dir has no account', async () => {
    const url = await postgres.database();
    const { db } = await dataDir([]);
    const { adopted, stores } = await open(db, url);
    expect(adopted).toEqual([]);
    expect(await stores.users.list()).toEqual([]);
  });
});
