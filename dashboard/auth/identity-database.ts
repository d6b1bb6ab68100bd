import { openPostgres, sqliteClient, type Migration, type SqlClient, type StateDb } from '../../state/index.js';
import { SqlApiTokenStore, API_TOKEN_MIGRATIONS } from './api-token-store.js';
import type { ApiTokenStore, SessionPolicy, SessionStore, UserStore } from './identity.js';
import { adoptLocalIdentity } from './identity-adoption.js';
import { DASHBOARD_MIGRATIONS } from './migrations.js';
import { SqlSessionStore } from './session-store.js';
import { SqlUserStore } from './user-store.js';

/**
 * The identity tables' migrations as PostgreSQL applies them: the entries that carry PostgreSQL SQL. The rest of
 * the dashboard's schema (the worklist's latest readings) stays in each instance's SQLite database.
 */
export const IDENTITY_POSTGRES_MIGRATIONS: readonly Migration[] = [...DASHBOARD_MIGRATIONS, ...API_TOKEN_MIGRATIONS].filter((m) => m.postgres !== undefined);

export interface IdentityDatabase {
  readonly sql: SqlClient;
  close(): Promise<void>;
}

/**
 * Where users, sessions and API tokens live: PostgreSQL when VIGIL_DATABASE_URL is set (shared by every instance
 * behind a load balancer, and by the CLI), else the embedded state database, as before.
 */
export async function openIdentityDatabase(
  db: StateDb,
  databaseUrl: string | undefined,
  onIdleError: (err: Error) => void,
  onAdopted: (copied: { users: number; tokens: number }) => void = () => undefined,
): Promise<IdentityDatabase> {
  if (databaseUrl === undefined) return { sql: sqliteClient(db), close: async () => undefined };
  const postgres = await openPostgres(databaseUrl, IDENTITY_POSTGRES_MIGRATIONS, onIdleError);
  try {
    const adopted = await adoptLocalIdentity(db, postgres.client);
    if (adopted) onAdopted(adopted);
  } catch (err) {
    await postgres.close();
    throw err;
  }
  return { sql: postgres.client, close: () => postgres.close() };
}

export interface IdentityStores {
  readonly users: UserStore;
  readonly sessions: SessionStore;
  readonly tokens: ApiTokenStore;
}

export function identityStores(sql: SqlClient, policy: SessionPolicy): IdentityStores {
  return { users: new SqlUserStore(sql), sessions: new SqlSessionStore(sql, policy), tokens: new SqlApiTokenStore(sql) };
}
