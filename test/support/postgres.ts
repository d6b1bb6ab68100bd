import { afterAll, beforeAll } from 'vitest';
import { startPostgresCluster, type PostgresCluster } from '../../bench/postgres.js';

export type PostgresInstance = PostgresCluster;

/** A throwaway PostgreSQL 15 for a test, fsync off (bench/postgres.ts says how it is started). */
export function startPostgres(): Promise<PostgresInstance> {
  return startPostgresCluster({ password: 'vigil-test-password', durable: false, prefix: 'vigil-pg-' });
}

/**
 * One throwaway PostgreSQL for the calling test file, started before its tests and removed after them;
 * `database()` gives each caller a new, empty database on it (`<prefix>_1`, `<prefix>_2`, ...).
 */
export function postgresForFile(prefix: string): { database(): Promise<string>; server(): PostgresInstance } {
  let server: PostgresInstance | undefined;
  let databases = 0;
  beforeAll(async () => {
    server = await startPostgres();
  }, 120_000);
  afterAll(async () => {
    await server?.destroy();
  });
  const started = () => {
    if (!server) throw new Error('PostgreSQL did not start');
    return server;
  };
  return { database: () => started().createDatabase(`${prefix}_${++databases}`), server: started };
}
