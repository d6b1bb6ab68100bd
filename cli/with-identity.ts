import type { ApiTokenStore, UserStore } from '../dashboard/index.js';
import { cliActor } from './cli-actor.js';
import { withState, type DataDirOption } from './with-state.js';

export interface IdentityCommand {
  readonly users: UserStore;
  readonly tokens: ApiTokenStore;
  /** Records a change in the data dir's audit log, by the command line's user. */
  readonly audit: (action: string, target: string, details?: unknown) => void;
  readonly by: string;
}

/**
 * Dashboard accounts and API tokens where the server keeps them: the PostgreSQL of VIGIL_DATABASE_URL when it is
 * set (every instance sees the change at its next request), else the data dir's state database.
 */
export function withIdentity<T>(opts: DataDirOption, body: (identity: IdentityCommand) => Promise<T> | T): Promise<T> {
  return withState(opts, async ({ db }, audit, config) => {
    // A connection lost while idle: the command's next query fails with its own error, which the command reports.
    // The dashboard's entry (Fastify and its plugins) loaded by the commands that need its account stores only.
    const { SqlApiTokenStore, SqlUserStore, openIdentityDatabase } = await import('../dashboard/index.js');
    const identity = await openIdentityDatabase(db, config.databaseUrl, () => undefined, (copied) =>
      process.stderr.write(`vigil: the shared database had no accounts: ${copied.users} users and ${copied.tokens} API tokens of this data dir were copied into it\n`),
    );
    try {
      return await body({
        users: new SqlUserStore(identity.sql),
        tokens: new SqlApiTokenStore(identity.sql),
        audit: (action, target, details) => audit(action, null, target, details),
        by: cliActor().name,
      });
    } finally {
      await identity.close();
    }
  });
}
