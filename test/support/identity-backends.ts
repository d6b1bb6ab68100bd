import { openState } from '../../app/state.js';
import { IDENTITY_POSTGRES_MIGRATIONS } from '../../dashboard/index.js';
import { openPostgres, sqliteClient, type SqlClient, type StateDb } from '../../state/index.js';
import { postgresForFile } from './postgres.js';
import { tempDir } from './temp.js';

export interface IdentityBackend {
  readonly name: 'SQLite' | 'PostgreSQL';
  /** A fresh, migrated identity database, and the instance's own state database (where the audit log is). */
  open(): Promise<{ sql: SqlClient; db: StateDb; close(): Promise<void> }>;
}

/**
 * The two databases the identity stores run on, for `describe.each`: the embedded state database in a temp dir,
 * and a new database on a real PostgreSQL that the calling test file starts once (beforeAll) and removes.
 */
export function identityBackends(): IdentityBackend[] {
  const postgres = postgresForFile('identity');
  return [
    {
      name: 'SQLite',
      async open() {
        const dir = await tempDir();
        const { db } = openState(dir.path);
        return {
          sql: sqliteClient(db),
          db,
          async close() {
            db.close();
            await dir.remove();
          },
        };
      },
    },
    {
      name: 'PostgreSQL',
      async open() {
        const shared = await openPostgres(await postgres.database(), IDENTITY_POSTGRES_MIGRATIONS, (err) => {
          throw err;
        });
        const dir = await tempDir();
        const { db } = openState(dir.path);
        return {
          sql: shared.client,
          db,
          async close() {
            await shared.close();
            db.close();
            await dir.remove();
          },
        };
      },
    },
  ];
}
