import { startPostgres, type PostgresInstance } from './postgres.js';
import { startTestVigil, type TestVigil } from './vigil.js';

/** Two Vigil instances, each with its own data dir, on one throwaway PostgreSQL, as behind a load balancer. */
export interface SharedInstances {
  readonly postgres: PostgresInstance;
  readonly databaseUrl: string;
  readonly a: TestVigil;
  readonly b: TestVigil;
  /** Another instance on the same database (the caller stops it). */
  start(): Promise<TestVigil>;
  stop(): Promise<void>;
}

/** Started together: the migration lock lets one create the tables and the other find them. */
export async function startSharedInstances(env: Record<string, string> = {}): Promise<SharedInstances> {
  const postgres = await startPostgres();
  const started: TestVigil[] = [];
  const stop = async () => {
    await Promise.all(started.map((v) => v.stop()));
    await postgres.destroy();
  };
  try {
    const databaseUrl = await postgres.createDatabase('vigil');
    const start = () => startTestVigil({ VIGIL_DATABASE_URL: databaseUrl, ...env });
    const [a, b] = await Promise.all([start(), start()]);
    started.push(a, b);
    return { postgres, databaseUrl, a, b, start, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
